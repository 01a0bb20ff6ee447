"""The audit trail: who changed or opened what, when, from which value to which.

Models opt in by inheriting :class:`Audited`.  One session hook records every
insert, update and delete of those models in the same transaction as the change
itself, so a change can never be committed without its audit entry and services
do not write audit code by hand.  Logins, downloads and exports are recorded
with :func:`record_access`; every read of identified patient data is recorded
by ``tracker.core.reads``, which pages opt out of, not in.

The trail is append-only (database triggers refuse updates and deletes) and
each entry carries a MAC (HMAC-SHA256, keyed with ``TRACKER_AUDIT_KEY``, which
is kept outside the database) of its content and of the entry before it, so
that an entry altered, removed or forged behind the application's back breaks
the chain and ``flask --app tracker audit verify`` says where.  Entries written
before the key was introduced carry a plain SHA-256 (``key_id`` empty); they
verify as before, and only at the start of the chain: the first keyed entry
seals them, and nothing unkeyed may follow it.  Clinical rows carry a seal of
their values bound to the MAC of their last change (:class:`Anchored`), so that
a row edited behind the application's back is found too.  Entries are appended one
writer at a time: on PostgreSQL under a transaction-scoped advisory lock that
write transactions take first (see ``tracker.core.db``), on SQLite under the
database's own write lock.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from flask import current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Mapper, Session, attributes, mapped_column, object_session

from tracker.core.db import SAFE_METHODS, take_writer_lock
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.time import utcnow
from tracker.extensions import Model, db

logger = logging.getLogger(__name__)

SECRET_PLACEHOLDER = "***"  # noqa: S105 - shown in place of a secret value


class AuditAction(LabelledEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    VIEW = "view"
    DOWNLOAD = "download"
    EXPORT = "export"


with_labels(
    AuditAction,
    {
        AuditAction.INSERT: _l("Created"),
        AuditAction.UPDATE: _l("Changed"),
        AuditAction.DELETE: _l("Deleted"),
        AuditAction.LOGIN: _l("Logged in"),
        AuditAction.LOGIN_FAILED: _l("Failed login"),
        AuditAction.LOGOUT: _l("Logged out"),
        AuditAction.VIEW: _l("Opened"),
        AuditAction.DOWNLOAD: _l("Downloaded"),
        AuditAction.EXPORT: _l("Exported"),
    },
)

#: Changes to rows, as opposed to access events (logins, views, downloads).
CHANGE_ACTIONS = frozenset({AuditAction.INSERT, AuditAction.UPDATE, AuditAction.DELETE})

#: The ``previous_hash`` of the first entry.
GENESIS_HASH = "0" * 64


class AuditEntry(Model):
    """One change to one audited row, or one access to data (login, view, download)."""

    __tablename__ = "audit_entries"
    #: The trail's own entries (the introduction of the audit key), in the history.
    __audit_label__ = _l("Audit trail")
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        Index(None, "recorded_at"),
        # The latest change of each kind in one index step (see ``latest_change``).
        Index(None, "action", "id"),
        # Two entries can never follow the same one: the chain cannot fork.
        UniqueConstraint("previous_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When the change was flushed (UTC).
    recorded_at: Mapped[datetime]
    #: The account that made the change; empty for the system (CLI, scheduler).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: A readable name for the actor, kept even if the account is renamed.
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[AuditAction]
    #: The model's class name, e.g. ``User``.
    entity_type: Mapped[str] = mapped_column(String(64))
    #: The primary key of the changed row, as text.
    entity_id: Mapped[str] = mapped_column(String(64))
    #: ``{field: [old, new]}`` for every field that changed; for access events,
    #: what was opened or exported (``{"format": "pdf"}``...).
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The case (referral) the row belongs to, for the case's history tab.  No
    #: foreign key: the trail outlives what it describes.
    referral_id: Mapped[int | None] = mapped_column(index=True)
    #: The patient, for rows of the patient record itself and of their referrals.
    patient_id: Mapped[int | None] = mapped_column(index=True)
    #: ``entry_hash`` of the entry before this one (``GENESIS_HASH`` for the first).
    previous_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of ``previous_hash`` and of this entry's content, keyed with
    #: ``TRACKER_AUDIT_KEY``; a plain SHA-256 for entries written before the key.
    entry_hash: Mapped[str] = mapped_column(String(64))
    #: Which key made ``entry_hash`` (see ``key_id``); empty for a plain SHA-256.
    key_id: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_change(self) -> bool:
        return self.action in CHANGE_ACTIONS

    def content(self) -> dict[str, Any]:
        return {
            "recorded_at": self.recorded_at,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "changes": self.changes,
            "referral_id": self.referral_id,
            "patient_id": self.patient_id,
        }


class Audited:
    """Mixin: changes to rows of this model are recorded in the audit trail."""

    #: Columns never recorded (derived or bookkeeping values).
    __audit_exclude__: frozenset[str] = frozenset()
    #: Columns recorded as changed without their value (password hashes).
    __audit_secret__: frozenset[str] = frozenset()
    #: What the team calls this kind of record (a lazy string), in the history.
    __audit_label__: Any = None

    def audit_case_id(self) -> int | None:
        """The case (referral) this row belongs to; rows with a ``referral_id``
        column belong to that case."""
        return getattr(self, "referral_id", None)

    def audit_patient_id(self) -> int | None:
        """The patient this row describes directly (patient record, referral)."""
        return None


class Anchored(Audited):
    """Mixin for clinical records: audited, and anchored in the trail.

    Each row carries ``audit_seal``, a MAC of its recorded values bound to the
    MAC of the audit entry of its last change, written by the session hook that
    writes that entry.  ``flask --app tracker audit verify`` recomputes it, so a
    row edited behind the application's back (SQL, a restored table) no longer
    matches.  Sealed values are the audited columns (not ``__audit_exclude__``)
    without the version counter.

    A migration that changes sealed values (a data fix, a new audited column
    with a default) must set ``audit_seal`` to NULL on the rows it touches and
    write an audit entry for them, or ``audit verify`` reports those rows.
    """

    #: HMAC of the row's values and of its last change's ``entry_hash``; empty
    #: for rows not changed since the audit key was introduced (not yet anchored).
    audit_seal: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str


SYSTEM = Actor(None, "system")
_actor_override: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def acting_as(label: str, user_id: int | None = None) -> Iterator[Actor]:
    """Attribute the changes made inside the block to ``label`` (CLI, scheduler)."""
    actor = Actor(user_id, label)
    token = _actor_override.set(actor)
    try:
        yield actor
    finally:
        _actor_override.reset(token)


def set_request_actor(user_id: int | None, label: str) -> None:
    """Called once the request's user is known (see ``tracker.web.permissions``)."""
    g.audit_actor = Actor(user_id, label)


def current_actor() -> Actor:
    override = _actor_override.get()
    if override is not None:
        return override
    if has_request_context():
        return g.get("audit_actor") or Actor(None, "anonymous")
    return SYSTEM


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a column value."""
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _recorded(obj: Audited, key: str, value: Any) -> Any:
    if value is None:
        return None
    return SECRET_PLACEHOLDER if key in obj.__audit_secret__ else _plain(value)


#: The column that holds a row's seal (see ``Anchored``): neither recorded nor sealed.
SEAL_COLUMN = "audit_seal"


def _columns(obj: Audited) -> Iterator[str]:
    for prop in inspect(obj).mapper.column_attrs:
        if prop.key not in obj.__audit_exclude__ and prop.key != SEAL_COLUMN:
            yield prop.key


def _changes(obj: Audited, action: AuditAction) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _columns(obj):
        if action is AuditAction.UPDATE:
            history = attributes.get_history(obj, key)
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            changes[key] = [_recorded(obj, key, old), _recorded(obj, key, new)]
        else:
            value = state.dict.get(key)
            if value is None:
                continue
            value = _recorded(obj, key, value)
            changes[key] = [None, value] if action is AuditAction.INSERT else [value, None]
    return changes


def _entity_id(obj: Audited) -> str:
    # Read from the attributes: during the flush new rows have their keys but
    # not yet their identity.
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ":".join(str(_plain(part)) for part in key)


_PENDING = "audit_pending"
#: In a pending entry: the anchored row to seal once the entry has its MAC.
_ANCHOR = "anchor"
_OLD_VERSION = "audit_old_version"


def _version_key(mapper: Mapper[Any]) -> str | None:
    column = mapper.version_id_col
    return None if column is None else mapper.get_property_by_column(column).key


def _remember_version(mapper: Mapper[Any], connection: Any, target: Audited) -> None:
    # The version counter is bumped by the flush itself, outside attribute
    # history: keep the old value to record "version: [old, new]", which lets
    # an editor see what others changed since the version they started from.
    key = _version_key(mapper)
    if key is not None:
        # Moved on by the application (``tracker.core.locking``) or not yet.
        history = attributes.get_history(target, key)
        old = history.deleted[0] if history.deleted else getattr(target, key)
        inspect(target).info[_OLD_VERSION] = old


def _collect(action: AuditAction) -> Any:
    def listener(mapper: Mapper[Any], connection: Any, target: Audited) -> None:
        changes = _changes(target, action)
        if action is AuditAction.UPDATE and not changes:
            return
        key = _version_key(mapper)
        if action is AuditAction.UPDATE and key is not None:
            old = inspect(target).info.pop(_OLD_VERSION, None)
            if old == getattr(target, key):
                changes.pop(key, None)  # an update that was not an edit
            else:
                changes[key] = [old, getattr(target, key)]
        session = object_session(target)
        if session is not None:
            session.info.setdefault(_PENDING, []).append(
                {
                    "action": action,
                    "entity_type": type(target).__name__,
                    "entity_id": _entity_id(target),
                    "changes": changes,
                    "referral_id": target.audit_case_id(),
                    "patient_id": target.audit_patient_id(),
                    _ANCHOR: target
                    if isinstance(target, Anchored) and action is not AuditAction.DELETE
                    else None,
                }
            )

    return listener


event.listen(Audited, "before_update", _remember_version, propagate=True)

# Mapper events see every row the flush writes, including rows deleted because
# they were removed from a collection (delete-orphan), which the session's
# ``deleted`` set never shows.
for _action, _event in (
    (AuditAction.INSERT, "after_insert"),
    (AuditAction.UPDATE, "after_update"),
    (AuditAction.DELETE, "after_delete"),
):
    event.listen(Audited, _event, _collect(_action), propagate=True)


# --- the hash chain -------------------------------------------------------------


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_moment(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _payload(previous_hash: str, content: dict[str, Any]) -> bytes:
    return _canonical_json(
        [
            previous_hash,
            _canonical_moment(content["recorded_at"]),
            content["actor_id"],
            content["actor_label"],
            content["action"].name,
            content["entity_type"],
            content["entity_id"],
            content["referral_id"],
            content["patient_id"],
            content["changes"],
        ]
    ).encode()


def entry_digest(previous_hash: str, content: dict[str, Any]) -> str:
    """The plain SHA-256 of one entry, as entries were hashed before the audit
    key: its content (as read back from the database) and the hash of the entry
    before it.  Anyone can compute it: it only verifies those early entries.

    The migration that introduced the chain has its own copy of this function;
    changing it means a migration that re-hashes nothing but says so.
    """
    return hashlib.sha256(_payload(previous_hash, content)).hexdigest()


def entry_mac(key: bytes, previous_hash: str, content: dict[str, Any]) -> str:
    """The MAC of one entry (HMAC-SHA256 of what ``entry_digest`` hashes): only
    the holder of the key can compute it.  The migration that introduced the key
    has its own copy."""
    return hmac.new(key, _payload(previous_hash, content), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """A short name for a key that reveals nothing of it, stored with each entry
    so that a wrong key is told apart from an altered entry."""
    return hmac.new(key, b"rcp-tracker audit key id", hashlib.sha256).hexdigest()[:16]


def audit_key() -> bytes:
    """The configured ``TRACKER_AUDIT_KEY`` (see ``tracker.config``)."""
    return str(current_app.config["AUDIT_KEY"]).encode()


def _chain_head(connection: Connection) -> str:
    head = connection.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    return head or GENESIS_HASH


def _append(connection: Connection, rows: list[dict[str, Any]]) -> list[str]:
    """Add entries at the end of the chain, in one statement; their MACs."""
    actor, moment = current_actor(), utcnow()
    key = audit_key()
    signer = key_id(key)
    # Usually held since the transaction began; taking it again is harmless.
    take_writer_lock(connection)
    previous = _chain_head(connection)
    values, macs = [], []
    for row in rows:
        content = {
            "recorded_at": moment,
            "actor_id": actor.user_id,
            "actor_label": actor.label[:200],
            "referral_id": None,
            "patient_id": None,
            **{name: value for name, value in row.items() if name != _ANCHOR},
            # Stored as it will be read back, so that the MAC can be recomputed.
            "changes": json.loads(_canonical_json(row.get("changes") or {})),
        }
        mac = entry_mac(key, previous, content)
        values.append({**content, "previous_hash": previous, "entry_hash": mac, "key_id": signer})
        macs.append(mac)
        previous = mac
    connection.execute(insert(AuditEntry), values)
    return macs


# --- seals of clinical rows -------------------------------------------------------


def _sealed_columns(model: type[Anchored]) -> list[Any]:
    """The table columns a row's seal covers: what the trail records of it,
    without the version counter (bookkeeping, bumped by every save)."""
    mapper = inspect(model)
    version = _version_key(mapper)
    return [
        prop.columns[0]
        for prop in mapper.column_attrs
        if prop.key not in model.__audit_exclude__ and prop.key not in {SEAL_COLUMN, version}
    ]


def _sealable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return _plain(value)


def row_seal(key: bytes, entry_hash: str, entity_type: str, values: dict[str, Any]) -> str:
    """The seal of a row: its values (as read from the database) bound to the
    MAC of the audit entry of its last change."""
    payload = _canonical_json(
        [entry_hash, entity_type, {name: _sealable(value) for name, value in values.items()}]
    )
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _read_rows(
    connection: Connection, model: type[Anchored], ids: list[Any] | None, batch: int = 500
) -> Iterator[tuple[Any, str | None, dict[str, Any]]]:
    """``(id, seal, {column: value})`` of rows (all of them when ``ids`` is None)
    read back through the columns' own types, as ``audit verify`` reads them."""
    table = cast(Table, inspect(model).local_table)
    columns = _sealed_columns(model)
    query = select(table.c.id, table.c[SEAL_COLUMN], *columns)

    def values(row: Any) -> tuple[Any, str | None, dict[str, Any]]:
        return (
            row[0],
            row[1],
            {column.key: value for column, value in zip(columns, row[2:], strict=True)},
        )

    if ids is None:
        with connection.execute(
            query.order_by(table.c.id).execution_options(yield_per=batch)
        ) as rows:
            yield from map(values, rows)
        return
    for start in range(0, len(ids), batch):
        yield from map(
            values, connection.execute(query.where(table.c.id.in_(ids[start : start + batch])))
        )


def _seal(connection: Connection, anchored: list[tuple[Anchored, str]]) -> None:
    """Give each row written by the flush the seal of its values and of the MAC
    of the entry just written for it: one read and one update per table."""
    key = audit_key()
    by_model: dict[type[Anchored], dict[Any, tuple[Anchored, str]]] = {}
    for target, mac in anchored:
        # A row written twice in one flush keeps its last entry.
        by_model.setdefault(type(target), {})[target.id] = (target, mac)  # type: ignore[attr-defined]
    for model, rows in by_model.items():
        table = inspect(model).local_table
        seals = []
        for row_id, _old, values in _read_rows(connection, model, list(rows)):
            target, mac = rows[row_id]
            seal = row_seal(key, mac, model.__name__, values)
            seals.append({"anchored_id": row_id, "anchored_seal": seal})
            attributes.set_committed_value(target, SEAL_COLUMN, seal)
        if seals:
            connection.execute(
                update(table)
                .where(table.c.id == bindparam("anchored_id"))
                .values({SEAL_COLUMN: bindparam("anchored_seal")}),
                seals,
            )


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context: Any) -> None:
    """Write the flush's audit entries in one statement, inside its transaction."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        connection = session.connection()
        macs = _append(connection, pending)
        anchored = [
            (row[_ANCHOR], mac)
            for row, mac in zip(pending, macs, strict=True)
            if row.get(_ANCHOR) is not None
        ]
        if anchored:
            _seal(connection, anchored)


def record_access(
    action: AuditAction,
    entity_type: str,
    entity_id: object,
    *,
    referral_id: int | None = None,
    patient_id: int | None = None,
    details: dict[str, Any] | None = None,
    at_once: bool = False,
) -> None:
    """Record a login, a view, a download or an export.

    In a request that changes data the entry joins the request's transaction.
    A page that only reads (GET) is recorded after its response is ready, in a
    short write transaction of its own, and only if the page was shown: a
    read-only request never holds the write lock while it renders. ``at_once``
    joins the request's transaction whatever its method, for a GET that writes
    anyway and whose refusals are recorded too (the patient pages).
    """
    row = {
        "action": action,
        "entity_type": entity_type,
        "entity_id": str(entity_id)[:64],
        "referral_id": referral_id,
        "patient_id": patient_id,
        "changes": details or {},
    }
    # The page's reads are recorded with this entry (see ``tracker.core.reads``).
    from tracker.core import reads

    if has_request_context() and request.method in SAFE_METHODS and not at_once:
        reads.defer_entry(row)
    else:
        _append(db.session.connection(), [row])
        reads.note_covered(patient_id)


def append_entries(rows: list[dict[str, Any]]) -> None:
    """Access entries written together, in one statement (a page's reads)."""
    _append(db.session.connection(), rows)


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found."""

    checked: int
    head: str
    #: The id of the newest entry checked (None for an empty trail).
    head_id: int | None = None
    #: The first entry made with the key; the entries before it carry a plain
    #: SHA-256 (written before the key was introduced).
    keyed_since: int | None = None
    #: The id of the first entry that does not verify, and why.
    broken_at: int | None = None
    problem: str | None = None

    #: How many entries predate the key (plain SHA-256).
    unkeyed: int = 0

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(
    connection: Connection, key: bytes | None = None, batch: int = 1000
) -> ChainReport:
    """Recompute every entry's MAC (or, before the key, its plain hash), oldest
    first, and check each link.

    Plain entries are only accepted at the start of the chain: once an entry
    made with the key is met, every later one must be made with it too, and a
    trail that has plain entries must end with a keyed one (the migration that
    introduced the key wrote one). Without the key nobody can then rewrite the
    trail from any point on, nor turn its keyed end back into plain entries.
    """
    key = audit_key() if key is None else key
    signer = key_id(key)
    table = AuditEntry.__table__
    query = select(table).order_by(table.c.id).execution_options(yield_per=batch)
    previous, checked, head_id = GENESIS_HASH, 0, None
    keyed_since: int | None = None
    unkeyed = 0

    def broken(entry_id: int, problem: str) -> ChainReport:
        return ChainReport(checked, previous, head_id, keyed_since, entry_id, problem, unkeyed)

    with connection.execute(query) as rows:
        for row in rows:
            entry = row._mapping
            if entry["previous_hash"] != previous:
                return broken(
                    entry["id"],
                    "it does not follow the entry before it: an entry was removed, "
                    "inserted or reordered",
                )
            if entry["key_id"] is None:
                if keyed_since is not None:
                    return broken(
                        entry["id"],
                        "it has no MAC though it follows entries made with the audit key: "
                        "it was written or re-hashed without the key",
                    )
                if entry_digest(previous, dict(entry)) != entry["entry_hash"]:
                    return broken(entry["id"], "its content was altered")
                unkeyed += 1
            else:
                if entry["key_id"] != signer:
                    return broken(
                        entry["id"],
                        f"its MAC was made with another key ({entry['key_id']}) than "
                        f"TRACKER_AUDIT_KEY ({signer}): forged, or the configured key is wrong",
                    )
                if entry_mac(key, previous, dict(entry)) != entry["entry_hash"]:
                    return broken(entry["id"], "its content was altered (its MAC does not match)")
                if keyed_since is None:
                    keyed_since = entry["id"]
            previous = entry["entry_hash"]
            head_id = entry["id"]
            checked += 1
    if checked and keyed_since is None:
        return broken(
            head_id,  # type: ignore[arg-type]
            "no entry carries a MAC: the trail was re-hashed without the audit key "
            "(or the migration that introduced the key did not run)",
        )
    return ChainReport(checked, previous, head_id, keyed_since, None, None, unkeyed)


@dataclass(frozen=True)
class RowProblem:
    """A clinical row whose seal does not match the audit trail."""

    entity_type: str
    entity_id: str
    problem: str


@dataclass(frozen=True)
class AnchorReport:
    """What ``verify_anchors`` found."""

    checked: int
    #: Rows whose last change predates the audit key: nothing to compare yet.
    not_anchored: int
    #: The first problems found (up to the limit), and how many there are.
    problems: list[RowProblem]
    failed: int = 0

    @property
    def intact(self) -> bool:
        return not self.failed


def anchored_models() -> list[type[Anchored]]:
    models = [
        mapper.class_ for mapper in Model.registry.mappers if issubclass(mapper.class_, Anchored)
    ]
    return sorted(models, key=lambda model: model.__name__)


def _latest_changes(connection: Connection, entity_type: str) -> dict[str, tuple[str, str | None]]:
    """``{entity_id: (entry_hash, key_id)}`` of each row's newest insert or update."""
    newest = (
        select(func.max(AuditEntry.id))
        .where(
            AuditEntry.entity_type == entity_type,
            AuditEntry.action.in_([AuditAction.INSERT, AuditAction.UPDATE]),
        )
        .group_by(AuditEntry.entity_id)
    )
    rows = connection.execute(
        select(AuditEntry.entity_id, AuditEntry.entry_hash, AuditEntry.key_id).where(
            AuditEntry.id.in_(newest)
        )
    )
    return {row.entity_id: (row.entry_hash, row.key_id) for row in rows}


def verify_anchors(
    connection: Connection, key: bytes | None = None, limit: int = 1000
) -> AnchorReport:
    """Compare every clinical row with the audit entry of its last change:
    recompute its seal from its current values and that entry's MAC.

    Run after ``verify_chain``: the entries are trusted here. At most ``limit``
    problems are listed.
    """
    key = audit_key() if key is None else key
    checked = not_anchored = failed = 0
    problems: list[RowProblem] = []
    for model in anchored_models():
        name = model.__name__
        latest = _latest_changes(connection, name)
        for row_id, seal, values in _read_rows(connection, model, None):
            checked += 1
            entity_id = str(row_id)
            change = latest.get(entity_id)
            problem = None
            if change is None:
                problem = "no audit entry records it: written behind the application's back"
            elif change[1] is None and seal is None:
                not_anchored += 1
            elif seal is None:
                problem = "it has no seal though it was changed with the audit key: seal removed"
            elif row_seal(key, change[0], name, values) != seal:
                problem = (
                    "its values are not those its last audit entry recorded: "
                    "changed behind the application's back"
                )
            if problem is not None:
                failed += 1
                if len(problems) < limit:
                    problems.append(RowProblem(name, entity_id, problem))
    return AnchorReport(checked, not_anchored, problems, failed)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _load_old_values(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
    return value


@event.listens_for(Mapper, "mapper_configured")
def _track_old_values(mapper: Mapper[Any], class_: type) -> None:
    """Load a column's previous value before it is overwritten on audited models.

    Without ``active_history`` an attribute set on an expired object loses its
    old value, and the audit entry could not say what was replaced.
    """
    if not issubclass(class_, Audited):
        return
    for prop in mapper.column_attrs:
        event.listen(
            getattr(class_, prop.key), "set", _load_old_values, active_history=True, retval=True
        )


def latest_change() -> str | None:
    """The hash of the newest change entry (not an access): it changes whenever
    any audited data changes, and it names the whole history before it, so a
    result computed from the data can be kept until it changes. One query, one
    index step per kind of change."""
    newest = [
        select(func.max(AuditEntry.id)).where(AuditEntry.action == action).scalar_subquery()
        for action in sorted(CHANGE_ACTIONS, key=lambda action: action.name)
    ]
    return db.session.scalar(
        select(AuditEntry.entry_hash)
        .where(AuditEntry.id.in_(newest))
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )

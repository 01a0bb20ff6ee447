"""The audit trail: who changed or opened what, when, from which value to which.

Models opt in by inheriting :class:`Audited`.  One session hook records every
insert, update and delete of those models in the same transaction as the change
itself, so a change can never be committed without its audit entry and services
do not write audit code by hand.  Logins, downloads and exports are recorded
with :func:`record_access`; every read of identified patient data is recorded
by ``tracker.core.reads``, which pages opt out of, not in.

The trail is append-only (database triggers refuse updates and deletes) and
each entry carries the SHA-256 of its content and of the entry before it, so
that a row altered or removed behind the application's back breaks the chain
and ``flask --app tracker audit verify`` says where.  Entries are appended one
writer at a time: on PostgreSQL under a transaction-scoped advisory lock that
write transactions take first (see ``tracker.core.db``), on SQLite under the
database's own write lock.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Connection,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    func,
    insert,
    inspect,
    select,
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
    #: SHA-256 of ``previous_hash`` and of this entry's content.
    entry_hash: Mapped[str] = mapped_column(String(64))

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


def _columns(obj: Audited) -> Iterator[str]:
    for prop in inspect(obj).mapper.column_attrs:
        if prop.key not in obj.__audit_exclude__:
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
        inspect(target).info[_OLD_VERSION] = getattr(target, key)


def _collect(action: AuditAction) -> Any:
    def listener(mapper: Mapper[Any], connection: Any, target: Audited) -> None:
        changes = _changes(target, action)
        if action is AuditAction.UPDATE and not changes:
            return
        key = _version_key(mapper)
        if action is AuditAction.UPDATE and key is not None:
            old = inspect(target).info.pop(_OLD_VERSION, None)
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


def entry_digest(previous_hash: str, content: dict[str, Any]) -> str:
    """The hash of one entry: its content (as read back from the database) and
    the hash of the entry before it.

    The migration that introduced the chain has its own copy of this function;
    changing it means a migration that re-hashes nothing but says so.
    """
    payload = _canonical_json(
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
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _chain_head(connection: Connection) -> str:
    head = connection.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    return head or GENESIS_HASH


def _append(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Add entries at the end of the chain, in one statement."""
    actor, moment = current_actor(), utcnow()
    # Usually held since the transaction began; taking it again is harmless.
    take_writer_lock(connection)
    previous = _chain_head(connection)
    values = []
    for row in rows:
        content = {
            "recorded_at": moment,
            "actor_id": actor.user_id,
            "actor_label": actor.label[:200],
            "referral_id": None,
            "patient_id": None,
            **row,
            # Stored as it will be read back, so that the digest can be recomputed.
            "changes": json.loads(_canonical_json(row.get("changes") or {})),
        }
        digest = entry_digest(previous, content)
        values.append({**content, "previous_hash": previous, "entry_hash": digest})
        previous = digest
    connection.execute(insert(AuditEntry), values)


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context: Any) -> None:
    """Write the flush's audit entries in one statement, inside its transaction."""
    pending = session.info.pop(_PENDING, None)
    if pending:
        _append(session.connection(), pending)


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
    #: The id of the first entry that does not verify, and why.
    broken_at: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify_chain(connection: Connection, batch: int = 1000) -> ChainReport:
    """Recompute every entry's hash, oldest first, and check each link."""
    table = AuditEntry.__table__
    query = select(table).order_by(table.c.id).execution_options(yield_per=batch)
    previous, checked = GENESIS_HASH, 0
    with connection.execute(query) as rows:
        for row in rows:
            entry = row._mapping
            if entry["previous_hash"] != previous:
                return ChainReport(
                    checked,
                    previous,
                    entry["id"],
                    "it does not follow the entry before it: an entry was removed, "
                    "inserted or reordered",
                )
            if entry_digest(previous, dict(entry)) != entry["entry_hash"]:
                return ChainReport(checked, previous, entry["id"], "its content was altered")
            previous = entry["entry_hash"]
            checked += 1
    return ChainReport(checked, previous)


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

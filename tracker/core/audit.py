"""The audit trail: who changed what, when, from which value to which.

Models opt in by inheriting :class:`Audited`.  One session hook records every
insert, update and delete of those models in the same transaction as the change
itself, so a change can never be committed without its audit entry and services
do not write audit code by hand.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask import g, has_request_context
from sqlalchemy import JSON, ForeignKey, Index, String, event, insert, inspect
from sqlalchemy.orm import Mapped, Mapper, Session, attributes, mapped_column, object_session

from tracker.core.time import utcnow
from tracker.extensions import db

logger = logging.getLogger(__name__)

SECRET_PLACEHOLDER = "***"  # noqa: S105 - shown in place of a secret value


class AuditAction(enum.Enum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"


class AuditEntry(db.Model):
    """One change to one audited row."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        Index(None, "recorded_at"),
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
    #: ``{field: [old, new]}`` for every field that changed.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)


class Audited:
    """Mixin: changes to rows of this model are recorded in the audit trail."""

    #: Columns never recorded (derived or bookkeeping values).
    __audit_exclude__: frozenset[str] = frozenset()
    #: Columns recorded as changed without their value (password hashes).
    __audit_secret__: frozenset[str] = frozenset()


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
    """Called once the request's user is known (see ``tracker.core.permissions``)."""
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
                (action, type(target).__name__, _entity_id(target), changes)
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


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, flush_context: Any) -> None:
    """Write the flush's audit entries in one statement, inside its transaction."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    actor, moment = current_actor(), utcnow()
    session.connection().execute(
        insert(AuditEntry),
        [
            {
                "recorded_at": moment,
                "actor_id": actor.user_id,
                "actor_label": actor.label[:200],
                "action": action,
                "entity_type": entity_type,
                "entity_id": entity_id,
                "changes": changes,
            }
            for action, entity_type, entity_id, changes in pending
        ],
    )


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

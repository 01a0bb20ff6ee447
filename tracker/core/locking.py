"""Optimistic locking: a save made from an older version of a record is refused.

A model that people edit in a form inherits :class:`Versioned`. Its ``version``
moves on with every save that changes what the team edits, and the form
carries the version it was made from (``tracker.web.forms.VersionedForm``). A
service calls :func:`check_version` before writing: if someone saved in
between, nothing is written and :class:`EditConflict` lists what they changed,
read from the audit trail, so that the editor can decide knowingly.

Write transactions are serialised (see ``tracker.core.db``), so the check made
at the start of a save cannot race another save; the version is also in every
UPDATE's WHERE clause, so a write that bypasses the check still fails
(``StaleDataError``) rather than overwrite.
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapped, Mapper, declared_attr, mapped_column

from tracker.core.audit_trail import ChangeSince, changes_since
from tracker.core.errors import ConflictError

logger = logging.getLogger(__name__)


class EditConflict(ConflictError):
    """Someone saved the record after the editor opened it."""

    default_message = _l(
        "Someone else saved this record while you were editing it. Your changes are not "
        "saved yet: check what they changed below, then save again."
    )

    def __init__(self, changes: list[ChangeSince], message: Any = None) -> None:
        super().__init__(message or self.default_message)
        self.changes = changes


class Versioned:
    """Mixin: rows carry a version that each edit moves on (optimistic lock)."""

    #: Columns whose change is not an edit (login times, password hashes):
    #: they do not move the version, so they never make an editor's save stale.
    __version_ignore__: frozenset[str] = frozenset()
    #: Collections edited with the row (a user's roles): a change moves the version.
    __version_follows__: tuple[str, ...] = ()

    #: Optimistic lock: each save checks nobody saved in between.
    version: Mapped[int] = mapped_column(default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # The application moves the version on (``_move_on``), so that only
        # edits do; SQLAlchemy still puts the old one in the UPDATE's WHERE.
        return {"version_id_col": cls.version, "version_id_generator": False}


def _changed(history: Any) -> bool:
    if not history.has_changes():
        return False
    if history.added and history.deleted:
        return bool(history.added[0] != history.deleted[0])
    return True


@event.listens_for(Versioned, "before_update", propagate=True)
def _move_on(mapper: Mapper[Any], connection: Any, target: Versioned) -> None:
    state = inspect(target)
    if state.attrs.version.history.has_changes():
        return  # moved on by hand
    ignored = target.__version_ignore__ | {"version"}
    edited = any(
        _changed(state.attrs[prop.key].history)
        for prop in mapper.column_attrs
        if prop.key not in ignored
    ) or any(state.attrs[name].history.has_changes() for name in target.__version_follows__)
    if edited:
        target.version = (target.version or 0) + 1


def entity_id(record: Any) -> str:
    key = inspect(record).mapper.primary_key_from_instance(record)
    return ":".join(str(part) for part in key)


def check_version(
    record: Versioned,
    expected: int | None,
    *,
    related: tuple[str, object] | None = None,
    conflict: type[EditConflict] = EditConflict,
) -> None:
    """Refuse a save made from version ``expected`` if the record has moved on.

    ``None`` means the caller works from the record as it is now (a job, the
    command line); a form that did not say which version it was made from
    sends 0, which never matches, so it is refused too.
    """
    if expected is None or record.version == expected:
        return
    raise conflict(
        changes_since(type(record).__name__, entity_id(record), expected, related=related)
    )

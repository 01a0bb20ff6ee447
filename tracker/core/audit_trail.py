"""Reading the audit trail: filters, and entries put into words for people.

The administrators' viewer, its CSV export and each case's history tab share
these queries and this presentation.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Date, Select, Table, Text, cast, func, or_, select
from sqlalchemy import Enum as EnumType
from wtforms.fields.core import UnboundField

from tracker.core import signals
from tracker.core.audit import CHANGE_ACTIONS, SECRET_PLACEHOLDER, AuditAction, AuditEntry
from tracker.core.db import UTCDateTime
from tracker.core.time import site_timezone, to_local
from tracker.extensions import Model, db

logger = logging.getLogger(__name__)


def field_labels() -> dict[str, dict[str, Any]]:
    """Words for the columns of each model, as its forms name them: what the
    features give on ``signals.field_labels``, as dicts of labels or as form
    classes whose fields share the columns' names."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    labels: dict[str, dict[str, Any]] | None = app.extensions.get(_LABELS)
    if labels is None:
        labels = {}
        for entity_type, source in signals.collected(signals.field_labels, app):
            labels.setdefault(entity_type, {}).update(
                source if isinstance(source, dict) else labels_of(source)
            )
        app.extensions[_LABELS] = labels
    return labels


_LABELS = "tracker.field_labels"


def labels_of(form_class: type) -> dict[str, Any]:
    """The labels of a form class's fields, by field name."""
    labels = {}
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if isinstance(unbound, UnboundField):
            label = unbound.args[0] if unbound.args else unbound.kwargs.get("label")
            if label is not None:
                labels[name] = label
    return labels


@cache
def _model(entity_type: str) -> type | None:
    for mapper in Model.registry.mappers:
        if mapper.class_.__name__ == entity_type:
            return mapper.class_
    return None


@dataclass(frozen=True)
class Reference:
    """A column pointing at another row, shown by that row's name."""

    model: type[Any]


@cache
def _model_of_table(table_name: str) -> type | None:
    for mapper in Model.registry.mappers:
        if isinstance(mapper.local_table, Table) and mapper.local_table.name == table_name:
            return mapper.class_
    return None


@cache
def _column_kinds(entity_type: str) -> dict[str, Any]:
    """How to show each column's values: an enumeration class (also for JSON
    lists of members, named by the column's ``info["enum"]``), a ``Reference``
    to another table, or "date" / "datetime"."""
    model = _model(entity_type)
    kinds: dict[str, Any] = {}
    if model is None:
        return kinds
    for prop in db.inspect(model).column_attrs:
        column = prop.columns[0]
        targets = [_model_of_table(fk.column.table.name) for fk in column.foreign_keys]
        if isinstance(column.type, EnumType) and column.type.enum_class is not None:
            kinds[prop.key] = column.type.enum_class
        elif "enum" in column.info:
            kinds[prop.key] = column.info["enum"]
        elif targets and targets[0] is not None:
            kinds[prop.key] = Reference(targets[0])
        elif isinstance(column.type, UTCDateTime):
            kinds[prop.key] = "datetime"
        elif isinstance(column.type, Date):
            kinds[prop.key] = "date"
    return kinds


def entity_types() -> list[str]:
    """Every kind of row the trail records, for the viewer's filter."""
    from tracker.core.audit import Audited

    names = {
        mapper.class_.__name__
        for mapper in Model.registry.mappers
        if issubclass(mapper.class_, Audited)
    }
    return sorted(names)


def record_kind(entity_type: str) -> str:
    """A kind of record in the team's words ("Follow-up"), in the reader's language."""
    label = getattr(_model(entity_type), "__audit_label__", None)
    return str(label) if label is not None else entity_type


#: Columns many records share, in words, when no form names them.
COMMON_LABELS = {
    "status": _l("Status"),
    "referral_id": _l("Case"),
    "patient_id": _l("Patient"),
    "procedure_id": _l("Procedure"),
    "decision_id": _l("Decision"),
    "meeting_id": _l("Meeting"),
    "user_id": _l("Person"),
    "technique_id": _l("Technique"),
    "mode": _l("How"),
    "case_number": _l("Case number"),
    "created_by_id": _l("Created by"),
    "recorded_by_id": _l("Recorded by"),
    "validated_at": _l("Validated on"),
    "validated_by_id": _l("Validated by"),
    "draft_saved_at": _l("Draft saved on"),
    "draft_saved_by_id": _l("Draft saved by"),
    "due_on": _l("Due"),
    "offset_days": _l("Days after the procedure"),
    "window_start_on": _l("Window opens"),
    "window_end_on": _l("Window closes"),
    "kind": _l("Kind"),
    "state": _l("State"),
    "presenter_id": _l("Presenter"),
    "quorum_met": _l("Quorum met"),
}

#: Bookkeeping the team does not read: row ids, version counters, the times a
#: row was written (the entry has its own), secrets' derivatives. The
#: administrators' viewer and the CSV keep them.
INTERNAL = frozenset(
    {"id", "version", "created_at", "updated_at", "recorded_at", "position", "state_changed_at"}
)


def is_internal(key: str) -> bool:
    return key in INTERNAL or key.endswith(("_hash", "_nonce", "_token"))


def field_label(entity_type: str, key: str) -> str:
    label = field_labels().get(entity_type, {}).get(key)
    if label is None:
        label = COMMON_LABELS.get(key)
    if label is not None:
        return str(label)
    return key.removesuffix("_id").replace("_", " ").capitalize()


@dataclass(frozen=True)
class Change:
    key: str
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Line:
    """One entry, in words."""

    entry: AuditEntry
    changes: list[Change]
    #: For access events: what was opened or exported, as "key: value".
    details: list[str]
    #: The record, in words ("Follow-up"; with its id for the administrators).
    record: str = ""
    #: Who, in words: a person's name, or what the product did by itself.
    actor: str = ""


def actor_words(label: str) -> str:
    """Who made an entry, for the team: people by name (as recorded); the
    product's own work (``system``, ``scheduler:<job>``, ``cli:<command>``) and
    the patient's answers through their link in words, in the reader's language.
    The administrators' viewer and CSV keep the label as recorded."""
    if label == "system":
        return _("RCP Tracker")
    if label.startswith("scheduler:"):
        return _("RCP Tracker (scheduled task)")
    if label.startswith("cli:"):
        return _("RCP Tracker (command line)")
    if label.startswith("patient"):
        return _("The patient (online questionnaire)")
    return label


Names = dict[tuple[type, int], str]


def _show(kind: Any, value: Any, names: Names) -> str:
    if value is None or value == "":
        return "—"
    if value == SECRET_PLACEHOLDER:
        return _("(not shown)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(_show(kind, item, names) for item in value) or "—"
    if isinstance(kind, Reference) and isinstance(value, int):
        return names.get((kind.model, value), f"#{value}")
    if kind in ("datetime", "date") and isinstance(value, str):
        try:
            if kind == "date":
                return format_date(date.fromisoformat(value), "d MMM y")
            return format_datetime(datetime.fromisoformat(value), "d MMM y, HH:mm")
        except ValueError:
            return value
    if isinstance(kind, type) and issubclass(kind, enum.Enum) and isinstance(value, str):
        member = kind.__members__.get(value)
        if member is not None:
            return str(getattr(member, "label", member.name))
    if isinstance(value, dict):
        # A person (the participants frozen on a decision) by name; anything
        # else as "key: value" pairs, never as JSON.
        if value.get("name"):
            return str(value["name"])
        shown = [f"{key}: {_show(None, item, names)}" for key, item in sorted(value.items())]
        return "; ".join(shown) or "—"
    return str(value)


def _name_of(row: Any) -> str | None:
    """How a person recognises a row: a name, a case number."""
    for attribute in ("full_name", "case_number", "name"):
        value = getattr(row, attribute, None)
        if value:
            return str(value)
    return None


def _names(entries: list[AuditEntry], *, masked: bool = False) -> Names:
    """Names of the rows the entries point at: one query per kind of row
    (patients' rows not even read when ``masked``)."""
    wanted: dict[type[Any], set[int]] = {}
    for entry in entries:
        if not entry.is_change:
            continue
        kinds = _column_kinds(entry.entity_type)
        for key, values in entry.changes.items():
            kind = kinds.get(key)
            if isinstance(kind, Reference) and not (masked and _is_patient(kind)):
                wanted.setdefault(kind.model, set()).update(v for v in values if isinstance(v, int))
    names: Names = {}
    for model, ids in wanted.items():
        if not ids:
            continue
        for row in db.session.scalars(select(model).where(model.id.in_(ids))):
            name = _name_of(row)
            if name is not None:
                names[(model, row.id)] = name
    return names


def _for_the_team(change: Change, kinds: dict[str, Any]) -> bool:
    """Not bookkeeping, nor a link to a row the team knows by no name ("#14")."""
    if is_internal(change.key):
        return False
    if not isinstance(kinds.get(change.key), Reference):
        return True
    return any(value != "—" and not value.startswith("#") for value in (change.old, change.new))


def _record(entry: AuditEntry, team: bool) -> str:
    kind = record_kind(entry.entity_type)
    return kind if team or not entry.entity_id else f"{kind} #{entry.entity_id}"


#: Shown in place of a value that may identify a patient or describe their care.
MASKED = "•••"

#: What access entries say that names nobody: the page, the format, ids.
DETAILS_WITHOUT_IDENTITY = frozenset(
    {"page", "format", "view", "session", "cases", "patients", "previous", "masked"}
)


def _is_patient(reference: Reference) -> bool:
    return reference.model.__name__ == "Patient"


def may_identify(kind: Any, key: str, value: Any) -> bool:
    """A value an administrator sees only after stating a reason: free text
    (names, hospital numbers, contact details, clinical notes) and birth dates.
    Choices from a list, yes/no, numbers and other dates name nobody."""
    if value is None or value == "" or value == SECRET_PLACEHOLDER:
        return False
    if isinstance(value, bool | int | float):
        return False
    if isinstance(value, list):
        return any(may_identify(kind, key, item) for item in value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return False
    if isinstance(kind, Reference):
        return _is_patient(kind)
    if kind in ("date", "datetime"):
        return "birth" in key
    return True


def _shown_value(kind: Any, key: str, value: Any, names: Names, masked: bool) -> str:
    if masked and may_identify(kind, key, value):
        return MASKED
    return _show(kind, value, names)


def _actor(entry: AuditEntry, team: bool) -> str:
    label = entry.actor_label or ""
    return actor_words(label) if team else label


def describe(entries: list[AuditEntry], *, team: bool = False, masked: bool = False) -> list[Line]:
    """The entries in words; for the ``team`` (a case's history), without the
    bookkeeping (ids, versions, links to rows without a name); ``masked``
    (the administrators' viewer until they state a reason), without what may
    identify a patient."""
    names = _names(entries, masked=masked)
    lines = []
    for entry in entries:
        if entry.is_change:
            kinds = _column_kinds(entry.entity_type)
            changes = [
                Change(
                    key,
                    field_label(entry.entity_type, key),
                    _shown_value(kinds.get(key), key, old, names, masked),
                    _shown_value(kinds.get(key), key, new, names, masked),
                )
                for key, (old, new) in sorted(entry.changes.items())
            ]
            if team:
                changes = [change for change in changes if _for_the_team(change, kinds)]
            if changes or not team:
                lines.append(Line(entry, changes, [], _record(entry, team), _actor(entry, team)))
        else:
            details = [
                f"{key}: {MASKED}"
                if masked and key not in DETAILS_WITHOUT_IDENTITY
                else f"{key}: {_show(None, value, names)}"
                for key, value in entry.changes.items()
            ]
            lines.append(Line(entry, [], details, _record(entry, team), _actor(entry, team)))
    return lines


@dataclass(frozen=True)
class ChangeSince:
    """A field someone else saved on a row since an editor opened it."""

    label: str
    old: str
    new: str
    actor: str
    at: datetime


def changes_since(
    entity_type: str,
    entity_id: object,
    version: int,
    related: tuple[str, object] | None = None,
) -> list[ChangeSince]:
    """What was saved on a versioned row since ``version``, in words, oldest
    first: shown to an editor whose save came from an older version.

    ``related`` names one more row saved together with it (a decision's plan):
    its changes from the first save after ``version`` on are listed too.
    Version 0 is a row that did not exist yet: its creation is listed.
    """
    actions = [AuditAction.UPDATE] + ([AuditAction.INSERT] if version == 0 else [])
    saves = [
        entry
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity_type == entity_type,
                AuditEntry.entity_id == str(entity_id),
                AuditEntry.action.in_(actions),
            )
            .order_by(AuditEntry.id)
        )
        if entry.action is AuditAction.INSERT
        or (
            (entry.changes.get("version") or [None])[0] is not None
            and entry.changes["version"][0] >= version
        )
    ]
    entries = list(saves)
    if saves and related is not None:
        related_type, related_id = related
        entries += db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_type == related_type,
                AuditEntry.entity_id == str(related_id),
                AuditEntry.action.in_(CHANGE_ACTIONS),
                AuditEntry.id > saves[0].id,
            )
        )
        entries.sort(key=lambda entry: entry.id)
    return [
        ChangeSince(
            change.field, change.old, change.new, line.entry.actor_label, line.entry.recorded_at
        )
        for line in describe(entries)
        for change in line.changes
        if change.key not in HIDDEN_FROM_EDITORS
    ]


#: Bookkeeping columns an editor has no use for in a list of changes (a
#: meeting's ``sequence`` numbers its revisions for calendars).
HIDDEN_FROM_EDITORS = frozenset(
    {"version", "id", "draft_saved_at", "draft_saved_by_id", "sequence"}
)


@dataclass(frozen=True)
class AuditFilters:
    actor_id: int | None = None
    patient_id: int | None = None
    #: The ids of the patient's cases (a subquery), from the feature that keeps cases.
    patient_cases: Any = None
    referral_id: int | None = None
    entity_type: str | None = None
    action: AuditAction | None = None
    #: Local dates, both included.
    since: date | None = None
    until: date | None = None


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=site_timezone())


def lists_patient(patient_id: int) -> ColumnElement[bool]:
    """Access entries of pages that showed several patients, this one among them
    (``tracker.core.reads`` lists them under "patients", the entry's last key)."""
    stored = func.replace(cast(AuditEntry.changes, Text), " ", "")
    marker = '"patients":['
    number = str(int(patient_id))
    return (AuditEntry.entity_type == "Page") & or_(
        stored.like(f"%{marker}{number}]%"),
        stored.like(f"%{marker}{number},%"),
        stored.like(f"%{marker}%,{number}]%"),
        stored.like(f"%{marker}%,{number},%"),
    )


def audit_query(filters: AuditFilters) -> Select[AuditEntry]:
    """Entries matching ``filters``, newest first."""
    query = select(AuditEntry)
    if filters.actor_id is not None:
        query = query.where(AuditEntry.actor_id == filters.actor_id)
    if filters.patient_id is not None:
        # Entries about a patient: their record, and anything about their cases.
        scope = or_(AuditEntry.patient_id == filters.patient_id, lists_patient(filters.patient_id))
        if filters.patient_cases is not None:
            scope = or_(scope, AuditEntry.referral_id.in_(filters.patient_cases))
        query = query.where(scope)
    if filters.referral_id is not None:
        query = query.where(AuditEntry.referral_id == filters.referral_id)
    if filters.entity_type:
        query = query.where(AuditEntry.entity_type == filters.entity_type)
    if filters.action is not None:
        query = query.where(AuditEntry.action == filters.action)
    if filters.since is not None:
        query = query.where(AuditEntry.recorded_at >= _start_of_local_day(filters.since))
    if filters.until is not None:
        query = query.where(
            AuditEntry.recorded_at < _start_of_local_day(filters.until + timedelta(days=1))
        )
    return query.order_by(AuditEntry.id.desc())


def case_history_query(referral_id: int, patient_id: int, *, changes: bool) -> Select[AuditEntry]:
    """A case's own history: its rows, and changes to its patient's identity."""
    query = select(AuditEntry).where(
        or_(
            AuditEntry.referral_id == referral_id,
            (AuditEntry.entity_type == "Patient") & (AuditEntry.patient_id == patient_id),
            # Lists that showed the patient among others.
            lists_patient(patient_id),
        )
    )
    wanted = [action for action in AuditAction if (action in CHANGE_ACTIONS) == changes]
    return query.where(AuditEntry.action.in_(wanted)).order_by(AuditEntry.id.desc())


CSV_HEADER = [
    "id",
    "recorded_at",
    "actor_id",
    "actor",
    "action",
    "entity_type",
    "entity_id",
    "referral_id",
    "patient_id",
    "changes",
    "previous_hash",
    "entry_hash",
]


def csv_rows(filters: AuditFilters, batch: int = 500) -> Iterator[list[Any]]:
    """The export: every matching entry, exactly as stored (with its hashes, so
    that the copy can be checked), read in batches."""
    query = audit_query(filters).execution_options(yield_per=batch)
    for entry in db.session.scalars(query):
        yield [
            entry.id,
            to_local(entry.recorded_at).isoformat(timespec="seconds"),
            entry.actor_id,
            entry.actor_label,
            entry.action.name,
            entry.entity_type,
            entry.entity_id,
            entry.referral_id,
            entry.patient_id,
            json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
            entry.previous_hash,
            entry.entry_hash,
        ]
        db.session.expunge(entry)

"""Adding, renaming, retiring and restoring catalogue entries."""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, or_, select

from tracker.catalogue.models import Indication, Technique
from tracker.core.errors import DomainError
from tracker.core.locking import check_version
from tracker.extensions import db
from tracker.followups.rules import (
    ScheduleError,
    ThresholdError,
    WindowError,
    check_schedule,
    check_thresholds,
    check_windows,
)

logger = logging.getLogger(__name__)

Entry = TypeVar("Entry", Indication, Technique)


def slug(text: str, length: int = 40) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")[:length] or "entry"


def active_entries(model: type[Entry]) -> list[Entry]:
    """Entries offered for new records, in list order."""
    return list(
        db.session.scalars(
            select(model).where(model.is_retired.is_(False)).order_by(model.position, model.id)
        )
    )


def offered_entries(
    model: type[Entry], current_id: int | None = None, *, with_retired: bool = False
) -> list[Entry]:
    """Entries offered on a form: active ones, plus a record's own if since retired
    (every entry with ``with_retired``, for filtering old records)."""
    query = select(model).order_by(model.position, model.id)
    if not with_retired:
        offered: ColumnElement[bool] = model.is_retired.is_(False)
        if current_id is not None:
            offered = or_(offered, model.id == current_id)
        query = query.where(offered)
    return list(db.session.scalars(query))


def all_entries(model: type[Entry]) -> list[Entry]:
    return list(db.session.scalars(select(model).order_by(model.position, model.id)))


def _check_names_free(model: type[Entry], name_en: str, name_fr: str, entry: Any = None) -> None:
    for column, name, field in (
        (model.name_en, name_en, "name_en"),
        (model.name_fr, name_fr, "name_fr"),
    ):
        query = select(model.id).where(func.lower(column) == name.lower())
        if entry is not None:
            query = query.where(model.id != entry.id)
        if db.session.scalar(query) is not None:
            raise DomainError(_l("Another entry already has this name."), field)


def _check_settings(model: type[Entry], attributes: dict[str, Any], entry: Any = None) -> None:
    """A technique's schedule and thresholds as the follow-up rules take them,
    checked before anything is written: an entry is never left half-changed."""
    if model is not Technique:
        return

    def value(name: str) -> Any:
        if name in attributes:
            return attributes[name]
        if entry is not None:
            return getattr(entry, name)
        return Technique.__table__.c[name].default.arg

    try:
        if "followup_days" in attributes:
            attributes["followup_days"] = list(check_schedule(attributes["followup_days"]))
        if attributes.get("followup_windows") is not None:
            windows = check_windows(value("followup_days"), attributes["followup_windows"])
            attributes["followup_windows"] = windows
        check_thresholds(value("responder_pct"), value("partial_pct"), value("recurrence_pct"))
    except ScheduleError as error:
        raise DomainError(error.message, "followup_days") from None
    except WindowError as error:
        raise DomainError(error.message, "followup_windows") from None
    except ThresholdError as error:
        raise DomainError(error.message, error.field) from None


def is_snomed_concept_id(text: str) -> bool:
    """Shaped like a SNOMED CT concept identifier: 6 to 18 digits, no leading
    zero, a concept's partition ("00", or "10" with a namespace) before the check
    digit. Catches typing slips (a LOINC code, a label), not unknown concepts."""
    return bool(re.fullmatch(r"[1-9][0-9]{5,17}", text)) and text[-3:-1] in ("00", "10")


def _clean_snomed_code(attributes: dict[str, Any]) -> None:
    if "snomed_code" not in attributes:
        return
    code = (attributes["snomed_code"] or "").strip() or None
    if code is not None and not is_snomed_concept_id(code):
        raise DomainError(
            _l("This is not a SNOMED CT concept identifier (6 to 18 digits)."),
            "snomed_code",
        )
    attributes["snomed_code"] = code


def _free_code(model: type[Entry], name_en: str) -> str:
    base = slug(name_en, 34)
    taken = set(
        db.session.scalars(
            select(model.code).where(or_(model.code == base, model.code.like(f"{base}_%")))
        )
    )
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code


def add_entry(model: type[Entry], *, name_en: str, name_fr: str, **attributes: Any) -> Entry:
    name_en, name_fr = name_en.strip(), name_fr.strip()
    _check_names_free(model, name_en, name_fr)
    _check_settings(model, attributes)
    _clean_snomed_code(attributes)
    last = db.session.scalar(select(func.max(model.position))) or 0
    entry = model(
        code=_free_code(model, name_en),
        name_en=name_en,
        name_fr=name_fr,
        position=last + 10,
        **attributes,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def update_entry(
    entry: Entry,
    *,
    name_en: str,
    name_fr: str,
    expected_version: int | None = None,
    **attributes: Any,
) -> None:
    """Rename (or re-describe) an entry; cases that use it follow the new name.

    ``expected_version``: the version the editor started from (see
    ``tracker.core.locking``)."""
    check_version(entry, expected_version)
    name_en, name_fr = name_en.strip(), name_fr.strip()
    _check_names_free(type(entry), name_en, name_fr, entry)
    _check_settings(type(entry), attributes, entry)
    _clean_snomed_code(attributes)
    entry.name_en = name_en
    entry.name_fr = name_fr
    for key, value in attributes.items():
        setattr(entry, key, value)
    db.session.flush()


def retire_entry(entry: Entry) -> None:
    if entry.is_retired:
        raise DomainError(_l("This entry is already retired."))
    entry.is_retired = True
    db.session.flush()


def restore_entry(entry: Entry) -> None:
    if not entry.is_retired:
        raise DomainError(_l("This entry is in use already."))
    entry.is_retired = False
    db.session.flush()

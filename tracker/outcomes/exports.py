"""The data exports: cases, decisions, procedures and assessments, one row per
record, with stable column names (listed in the README).

Each kind is one query, read in batches as the file is sent, so memory stays
flat whatever the size.  The pseudonymised variant, for research, leaves out
names, hospital numbers, birth dates and every free-text field (where a name
could hide); replaces identifiers by keyed hashes (the same patient always gets
the same key, which cannot be reversed without the site's key); and shifts every
date of a patient by the same number of days (between 6 months back and 6
months on), which keeps every interval while hiding the real dates.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased

from tracker.auth.models import User
from tracker.cases.models import Patient, Referral, age_on
from tracker.catalogue.models import Indication, Technique
from tracker.core.time import to_local
from tracker.decisions.models import AdverseEvent, Decision, Procedure, ProcedurePlan
from tracker.decisions.models import procedure_operators as operators
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp
from tracker.followups.rules import reduction_pct
from tracker.meetings.models import Meeting
from tracker.outcomes.queries import OutcomeFilters, procedure_scope

logger = logging.getLogger(__name__)

IDENTIFIED, PSEUDONYMISED = "identified", "pseudonymised"

#: Kinds of columns: shown as is, left out of the pseudonymised export, shifted
#: with the patient's dates, or replaced by a keyed hash.
PLAIN, IDENTIFYING, DATE, KEY = "plain", "identifying", "date", "key"


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[Any], Any]
    kind: str = PLAIN
    #: For KEY columns: the column's name in the pseudonymised export, and the
    #: prefix of its keys.
    pseudonym: str = ""


def _field(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def _plain(name: str, kind: str = PLAIN) -> Column:
    return Column(name, _field(name), kind)


def _key(name: str, pseudonym: str, source: str | None = None) -> Column:
    return Column(name, _field(source or name), KEY, pseudonym)


CASE_COLUMNS = (
    _key("case_number", "case_key"),
    Column("patient_mrn", _field("mrn"), KEY, "patient_key"),
    Column("patient_last_name", _field("last_name"), IDENTIFYING),
    Column("patient_first_name", _field("first_name"), IDENTIFYING),
    Column("patient_birth_on", _field("birth_on"), IDENTIFYING),
    Column("patient_sex", _field("sex")),
    Column(
        "age_at_referral",
        lambda row: age_on(row.birth_on, row.referral_on) if row.referral_on else None,
    ),
    _plain("status"),
    _plain("referral_on", DATE),
    _plain("urgency"),
    Column("indication", _field("indication_code")),
    Column("referrer", _field("referrer_name"), IDENTIFYING),
    _plain("external_referrer", IDENTIFYING),
    _plain("pain_site", IDENTIFYING),
    _plain("pain_side"),
    _plain("mechanism"),
    _plain("pain_duration_months"),
    _plain("nrs_now"),
    _plain("nrs_average"),
    _plain("nrs_worst"),
    _plain("dn4"),
    _plain("treatments_tried"),
    _plain("treatments_other", IDENTIFYING),
    _plain("anticoagulation"),
    _plain("anticoagulation_details", IDENTIFYING),
    _plain("allergies", IDENTIFYING),
    _plain("imaging", IDENTIFYING),
    _plain("is_oncology"),
    _plain("primary_tumour", IDENTIFYING),
    _plain("has_bone_metastases"),
    _plain("question", IDENTIFYING),
    _plain("patient_agreed_on", DATE),
    _key("previous_case_number", "previous_case_key"),
    _plain("recurrence_reason", IDENTIFYING),
    _plain("withdrawn_reason", IDENTIFYING),
)

DECISION_COLUMNS = (
    _key("decision_id", "decision_key"),
    _key("case_number", "case_key"),
    Column("patient_mrn", _field("mrn"), KEY, "patient_key"),
    _plain("meeting_on", DATE),
    _plain("status"),
    _plain("outcome"),
    _plain("reasons", IDENTIFYING),
    _plain("follows_guidelines"),
    _plain("guideline_reference", IDENTIFYING),
    _plain("clinical_trial_proposed"),
    _plain("clinical_trial", IDENTIFYING),
    _plain("quorum_met"),
    _plain("validated_on", DATE),
    _plain("informed_on", DATE),
    _plain("patient_answer"),
    Column("plan_technique", _field("plan_technique_code")),
    _plain("plan_target", IDENTIFYING),
    _plain("plan_side"),
    _plain("plan_guidance"),
    _plain("plan_anaesthesia"),
    _plain("plan_anaesthetist_needed"),
    _plain("plan_care_setting"),
    _plain("plan_priority"),
    _plain("plan_distance_mm"),
)

PROCEDURE_COLUMNS = (
    _key("procedure_id", "procedure_key"),
    _key("case_number", "case_key"),
    Column("patient_mrn", _field("mrn"), KEY, "patient_key"),
    _plain("performed_on", DATE),
    Column("technique", _field("technique_code")),
    Column("planned_technique", _field("planned_technique_code")),
    Column(
        "deviation",
        lambda row: (
            row.planned_technique_code is not None
            and row.planned_technique_code != row.technique_code
        ),
    ),
    _plain("deviation_reason", IDENTIFYING),
    _plain("target", IDENTIFYING),
    _plain("distance_mm"),
    _plain("cryo_cycles"),
    _plain("cryo_freeze_minutes"),
    _plain("cryo_probe_temperature_c"),
    _plain("rf_temperature_c"),
    _plain("rf_duration_seconds"),
    _plain("toxin_units"),
    _plain("cement_volume_ml"),
    _plain("cement_levels"),
    _plain("immediate_result", IDENTIFYING),
    _plain("operators", IDENTIFYING),
    _plain("adverse_events"),
    _plain("worst_cirse_grade"),
)

ASSESSMENT_COLUMNS = (
    _key("assessment_id", "assessment_key"),
    _key("case_number", "case_key"),
    Column("patient_mrn", _field("mrn"), KEY, "patient_key"),
    _key("procedure_id", "procedure_key"),
    _plain("assessed_on", DATE),
    Column("days_after_procedure", lambda row: (row.assessed_on - row.performed_on).days),
    _plain("timepoint_days"),
    _plain("mode"),
    _plain("nrs_now"),
    _plain("nrs_average"),
    _plain("nrs_worst"),
    _plain("baseline_nrs"),
    Column(
        "reduction_pct",
        lambda row: _rounded(reduction_pct(row.baseline_nrs, row.nrs_average)),
    ),
    _plain("relief_pct"),
    _plain("pgic"),
    _plain("dn4"),
    _plain("side_effects"),
    _plain("side_effects_other", IDENTIFYING),
    _plain("analgesic_use"),
    _plain("pain_is_back"),
    _plain("note", IDENTIFYING),
)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _cases(filters: OutcomeFilters) -> Select[Any]:
    previous = aliased(Referral)
    query = (
        select(
            Referral,
            Patient.mrn,
            Patient.last_name,
            Patient.first_name,
            Patient.birth_on,
            Patient.sex,
            Indication.code.label("indication_code"),
            User.full_name.label("referrer_name"),
            previous.case_number.label("previous_case_number"),
        )
        .join(Patient, Patient.id == Referral.patient_id)
        .outerjoin(Indication, Indication.id == Referral.indication_id)
        .outerjoin(User, User.id == Referral.referrer_id)
        .outerjoin(previous, previous.id == Referral.previous_referral_id)
        .order_by(Referral.id)
    )
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    if filters.since is not None:
        query = query.where(Referral.referral_on >= filters.since)
    if filters.until is not None:
        query = query.where(Referral.referral_on <= filters.until)
    return query


def _decisions(filters: OutcomeFilters) -> Select[Any]:
    from tracker.outcomes.queries import _case_filters, _meeting_period

    query = (
        select(
            Decision,
            ProcedurePlan,
            Referral.case_number,
            Patient.mrn,
            Meeting.starts_at.label("meeting_at"),
            Technique.code.label("plan_technique_code"),
        )
        .join(Referral, Referral.id == Decision.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .join(Meeting, Meeting.id == Decision.meeting_id)
        .outerjoin(ProcedurePlan, ProcedurePlan.decision_id == Decision.id)
        .outerjoin(Technique, Technique.id == ProcedurePlan.technique_id)
        .order_by(Decision.id)
    )
    if filters.technique_id is not None:
        query = query.where(ProcedurePlan.technique_id == filters.technique_id)
    return _case_filters(_meeting_period(query, filters), filters)


def _procedures(filters: OutcomeFilters) -> Select[Any]:
    planned = aliased(Technique)
    operator_names = (
        select(func.aggregate_strings(User.full_name, "; "))
        .select_from(operators)
        .join(User, User.id == operators.c.user_id)
        .where(operators.c.procedure_id == Procedure.id)
        .scalar_subquery()
    )
    events = (
        select(func.count(AdverseEvent.id))
        .where(AdverseEvent.procedure_id == Procedure.id)
        .scalar_subquery()
    )
    worst = (
        select(func.max(AdverseEvent.cirse_grade))
        .where(AdverseEvent.procedure_id == Procedure.id)
        .scalar_subquery()
    )
    return (
        select(
            Procedure,
            Referral.case_number,
            Patient.mrn,
            Technique.code.label("technique_code"),
            planned.code.label("planned_technique_code"),
            operator_names.label("operators"),
            events.label("adverse_events"),
            worst.label("worst_cirse_grade"),
        )
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .join(Technique, Technique.id == Procedure.technique_id)
        .outerjoin(ProcedurePlan, ProcedurePlan.id == Procedure.plan_id)
        .outerjoin(planned, planned.id == ProcedurePlan.technique_id)
        .where(Procedure.id.in_(procedure_scope(filters)))
        .order_by(Procedure.id)
    )


def _assessments(filters: OutcomeFilters) -> Select[Any]:
    return (
        select(
            Assessment,
            Referral.case_number,
            Patient.mrn,
            Procedure.performed_on,
            Referral.nrs_average.label("baseline_nrs"),
            FollowUp.offset_days.label("timepoint_days"),
        )
        .join(Procedure, Procedure.id == Assessment.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .outerjoin(FollowUp, FollowUp.id == Assessment.followup_id)
        .where(Assessment.procedure_id.in_(procedure_scope(filters)))
        .order_by(Assessment.id)
    )


class _Flat:
    """One result row seen as one object: the entity's columns, then the labels."""

    def __init__(self, row: Any, prefixes: dict[int, str]) -> None:
        self._values: dict[str, Any] = {}
        for index, part in enumerate(row):
            if hasattr(part, "__table__"):
                prefix = prefixes.get(index, "")
                for column in part.__table__.columns:
                    self._values[prefix + column.key] = getattr(part, column.key)
        self._values.update(
            (name, value) for name, value in row._mapping.items() if not hasattr(value, "__table__")
        )

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None


@dataclass(frozen=True)
class ExportKind:
    name: str
    columns: tuple[Column, ...]
    query: Callable[[OutcomeFilters], Select[Any]]
    #: Entities of the row whose columns get a prefix ("plan_").
    prefixes: tuple[tuple[int, str], ...] = ()
    #: Renamed source columns: export name -> row attribute.
    aliases: tuple[tuple[str, str], ...] = ()


KINDS = {
    "cases": ExportKind("cases", CASE_COLUMNS, _cases),
    "decisions": ExportKind(
        "decisions",
        DECISION_COLUMNS,
        _decisions,
        prefixes=((1, "plan_"),),
        aliases=(("decision_id", "id"),),
    ),
    "procedures": ExportKind(
        "procedures", PROCEDURE_COLUMNS, _procedures, aliases=(("procedure_id", "id"),)
    ),
    "assessments": ExportKind(
        "assessments",
        ASSESSMENT_COLUMNS,
        _assessments,
        aliases=(("assessment_id", "id"),),
    ),
}


class Pseudonyms:
    """Keyed hashes and per-patient date shifts, from the site's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def for_site(cls) -> Pseudonyms:
        config = current_app.config
        secret = config.get("PSEUDONYM_KEY") or config["SECRET_KEY"]
        return cls(hmac.new(secret.encode(), b"rcp-tracker pseudonyms", hashlib.sha256).digest())

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()

    def key(self, prefix: str, value: Any) -> str | None:
        if value is None:
            return None
        return f"{prefix}-{self._digest(f'{prefix}:{value}').hex()[:16]}"

    def shift(self, mrn: str) -> timedelta:
        """Between 182 days back and 182 days on, never none, the same for every
        date of one patient."""
        number = int.from_bytes(self._digest(f"shift:{mrn}")[:4], "big") % 364
        return timedelta(days=number - 182 if number < 182 else number - 181)


KEY_PREFIXES = {
    "case_key": "C",
    "previous_case_key": "C",
    "patient_key": "P",
    "decision_key": "D",
    "procedure_key": "R",
    "assessment_key": "A",
}


def header(kind: ExportKind, variant: str) -> list[str]:
    if variant == IDENTIFIED:
        return [column.name for column in kind.columns]
    return [
        column.pseudonym if column.kind == KEY else column.name
        for column in kind.columns
        if column.kind != IDENTIFYING
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return to_local(value).isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(str(_cell(item)) for item in value)
    return value


def _derived(kind: ExportKind, row: _Flat) -> _Flat:
    for name, source in kind.aliases:
        row._values[name] = row._values[source]
    if "meeting_at" in row._values:
        row._values["meeting_on"] = to_local(row.meeting_at).date()
    if "validated_at" in row._values:
        validated = row._values["validated_at"]
        row._values["validated_on"] = to_local(validated).date() if validated else None
    return row


def rows(
    kind: ExportKind, variant: str, filters: OutcomeFilters, batch: int = 500
) -> Iterator[list[Any]]:
    """The export's rows, read ``batch`` at a time."""
    pseudonyms = Pseudonyms.for_site() if variant == PSEUDONYMISED else None
    prefixes = dict(kind.prefixes)
    query = kind.query(filters).execution_options(yield_per=batch)
    for count, result in enumerate(db.session.execute(query), start=1):
        row = _derived(kind, _Flat(result, prefixes))
        cells = []
        for column in kind.columns:
            value = column.value(row)
            if pseudonyms is not None:
                if column.kind == IDENTIFYING:
                    continue
                if column.kind == KEY:
                    value = pseudonyms.key(KEY_PREFIXES[column.pseudonym], value)
                elif column.kind == DATE and value is not None:
                    value = value + pseudonyms.shift(row.mrn)
            cells.append(_cell(value))
        yield cells
        if count % batch == 0:
            db.session.expunge_all()  # the rows sent are not kept in memory

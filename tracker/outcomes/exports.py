"""The data exports: cases, decisions, procedures and assessments, one row per
record, with stable column names (listed in the README).

Each kind is one query whose columns already hold the cells as they are
written (codes, ISO dates, yes/no, rounded figures), read in batches as the
file is sent: memory stays flat and a row costs a few microseconds, whatever
the size.  Python touches only what SQL cannot do the same way everywhere:
lists kept as JSON, local dates of timestamps, and the pseudonymisation.

The pseudonymised variant, for research, leaves out names, hospital numbers,
birth dates and every free-text field (where a name could hide); replaces
identifiers by keyed hashes (the same patient always gets the same key, which
cannot be reversed without the site's key); and shifts every date of a patient
by the same number of days (between 6 months back and 6 months on), which
keeps every interval while hiding the real dates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    case,
    cast,
    func,
    select,
    type_coerce,
)
from sqlalchemy.orm import aliased

from tracker.auth.models import User
from tracker.cases.models import Patient, Referral, age_on
from tracker.catalogue.models import Indication, Technique
from tracker.core.db import days_between
from tracker.core.fields import data_fields
from tracker.core.time import to_local
from tracker.decisions.models import AdverseEvent, Decision, Procedure, ProcedurePlan
from tracker.decisions.models import procedure_operators as operators
from tracker.extensions import db
from tracker.followups.forms import AssessmentForm
from tracker.followups.models import Assessment, FollowUp, FollowUpKind
from tracker.followups.rules import describe_day, reading_category_sql
from tracker.meetings.models import Meeting
from tracker.outcomes.queries import OutcomeFilters, procedure_scope
from tracker.web.exports import csv_cell

logger = logging.getLogger(__name__)

IDENTIFIED, PSEUDONYMISED = "identified", "pseudonymised"

#: How a column's cells are made:
#: PLAIN - as SQL gives them (codes, numbers, yes/no);
#: TEXT - typed by people: neutralised against spreadsheet formulas;
#: DATE - ISO text; shifted with the patient's dates when pseudonymised;
#: LOCAL_DATE - the local date of a timestamp;
#: LIST - codes kept as a JSON list, written separated by ";";
#: KEY - an identifier; replaced by a keyed hash when pseudonymised.
#: AGE - years on that date since the patient's birth.
#: TIMEPOINT - a follow-up's day offset as the time point it is ("month_3").
PLAIN, TEXT, DATE, LOCAL_DATE, LIST, KEY = "plain", "text", "date", "local_date", "list", "key"
AGE, TIMEPOINT = "age", "timepoint"


@dataclass(frozen=True)
class Column:
    name: str
    sql: Any
    kind: str = PLAIN
    #: Left out of the pseudonymised export (names, free text...).
    identifying: bool = False
    #: For KEY columns: the column's name in the pseudonymised export.
    pseudonym: str = ""
    #: For KEY columns: typed by people (a hospital number), so neutralised.
    typed: bool = False


def _code(column: Any) -> Any:
    """An enumeration by its stored name (no round trip through Python enums)."""
    return type_coerce(column, String)


def _date(column: Any) -> Any:
    return cast(column, String)


def _yes_no(column: Any) -> Any:
    return case((column.is_(True), "yes"), (column.is_(False), "no"), else_=None)


def _raw(column: Any) -> Any:
    return type_coerce(column, String)


def _plain(model: Any, name: str, **options: Any) -> Column:
    column = getattr(model, name)
    return Column(name, column, **options)


def _text(model: Any, name: str, *, identifying: bool = True) -> Column:
    return Column(name, getattr(model, name), TEXT, identifying=identifying)


def _entered(model: Any, fields: type, *, after: dict[str, tuple[Column, ...]]) -> list[Column]:
    """A column per field of the form people fill in, in the form's order,
    written as its database column's type says (a field added to the form is
    exported without a line here), each followed by the computed columns
    ``after`` names for it."""
    columns = []
    for name in data_fields(fields):
        columns.append(_by_type(model, name))
        columns.extend(after.get(name, ()))
    unknown = set(after) - set(data_fields(fields))
    if unknown:
        raise KeyError(f"no field {sorted(unknown)} on {fields.__name__}")
    return columns


def _by_type(model: Any, name: str) -> Column:
    attribute = getattr(model, name, None)
    if attribute is None:
        raise AttributeError(f"the form's field {name!r} has no column on {model.__name__}")
    kind = attribute.type
    if attribute.foreign_keys:
        # A row of another table is exported by its code or name: say which.
        raise TypeError(f"{model.__name__}.{name} points at another table: export it by hand")
    if isinstance(kind, Enum):  # before String, which it extends
        return Column(name, _code(attribute))
    if isinstance(kind, Boolean):
        return Column(name, _yes_no(attribute))
    if isinstance(kind, JSON):
        return Column(name, _raw(attribute), LIST)
    if isinstance(kind, Date):
        return Column(name, _date(attribute), DATE)
    if isinstance(kind, String):  # typed by people: left out of the research export
        return _text(model, name)
    if isinstance(kind, Integer | Float | Numeric):
        return _plain(model, name)
    raise TypeError(f"no export rule for {model.__name__}.{name} ({kind!r}): add one")


_CASE_COLUMNS = (
    Column("case_number", Referral.case_number, KEY, pseudonym="case_key"),
    Column("patient_mrn", Patient.mrn, KEY, pseudonym="patient_key", typed=True),
    Column("patient_last_name", Patient.last_name, TEXT, identifying=True),
    Column("patient_first_name", Patient.first_name, TEXT, identifying=True),
    Column("patient_birth_on", _date(Patient.birth_on), identifying=True),
    Column("patient_sex", _code(Patient.sex)),
    Column("age_at_referral", Referral.referral_on, AGE),
    Column("status", _code(Referral.status)),
    Column("referral_on", _date(Referral.referral_on), DATE),
    Column("urgency", _code(Referral.urgency)),
    Column("indication", Indication.code),
    Column("referrer", User.full_name, TEXT, identifying=True),
    _text(Referral, "external_referrer"),
    _text(Referral, "pain_site"),
    Column("pain_side", _code(Referral.pain_side)),
    Column("mechanism", _code(Referral.mechanism)),
    _plain(Referral, "pain_duration_months"),
    _plain(Referral, "nrs_now"),
    _plain(Referral, "nrs_average"),
    _plain(Referral, "nrs_worst"),
    _plain(Referral, "dn4"),
    Column("treatments_tried", _raw(Referral.treatments_tried), LIST),
    _text(Referral, "treatments_other"),
    Column("anticoagulation", _code(Referral.anticoagulation)),
    _text(Referral, "anticoagulation_details"),
    _text(Referral, "allergies"),
    _text(Referral, "imaging"),
    Column("is_oncology", _yes_no(Referral.is_oncology)),
    _text(Referral, "primary_tumour"),
    Column("has_bone_metastases", _yes_no(Referral.has_bone_metastases)),
    _text(Referral, "question"),
    Column("patient_agreed_on", _date(Referral.patient_agreed_on), DATE),
    None,  # previous_case_number: from an alias, set in _cases
    _text(Referral, "recurrence_reason"),
    _text(Referral, "withdrawn_reason"),
)

_previous = aliased(Referral)
CASE_COLUMNS = tuple(
    column
    if column is not None
    else Column("previous_case_number", _previous.case_number, KEY, pseudonym="previous_case_key")
    for column in _CASE_COLUMNS
)

DECISION_COLUMNS = (
    Column("decision_id", Decision.id, KEY, pseudonym="decision_key"),
    Column("case_number", Referral.case_number, KEY, pseudonym="case_key"),
    Column("patient_mrn", Patient.mrn, KEY, pseudonym="patient_key", typed=True),
    Column("meeting_on", Meeting.starts_at, LOCAL_DATE),
    Column("status", _code(Decision.status)),
    Column("outcome", _code(Decision.outcome)),
    _text(Decision, "reasons"),
    Column("follows_guidelines", _yes_no(Decision.follows_guidelines)),
    _text(Decision, "guideline_reference"),
    Column("clinical_trial_proposed", _yes_no(Decision.clinical_trial_proposed)),
    _text(Decision, "clinical_trial"),
    Column("quorum_met", _yes_no(Decision.quorum_met)),
    Column("validated_on", Decision.validated_at, LOCAL_DATE),
    Column("informed_on", _date(Decision.informed_on), DATE),
    Column("patient_answer", _code(Decision.patient_answer)),
    Column("plan_technique", Technique.code),
    Column("plan_target", ProcedurePlan.target, TEXT, identifying=True),
    Column("plan_side", _code(ProcedurePlan.side)),
    Column("plan_guidance", _raw(ProcedurePlan.guidance), LIST),
    Column("plan_anaesthesia", _code(ProcedurePlan.anaesthesia)),
    Column("plan_anaesthetist_needed", _yes_no(ProcedurePlan.anaesthetist_needed)),
    Column("plan_care_setting", _code(ProcedurePlan.care_setting)),
    Column("plan_priority", _code(ProcedurePlan.priority)),
    Column("plan_distance_mm", ProcedurePlan.distance_mm),
)

_planned = aliased(Technique)
_operator_names = (
    select(func.aggregate_strings(User.full_name, "; "))
    .select_from(operators)
    .join(User, User.id == operators.c.user_id)
    .where(operators.c.procedure_id == Procedure.id)
    .scalar_subquery()
)

PROCEDURE_COLUMNS = (
    Column("procedure_id", Procedure.id, KEY, pseudonym="procedure_key"),
    Column("case_number", Referral.case_number, KEY, pseudonym="case_key"),
    Column("patient_mrn", Patient.mrn, KEY, pseudonym="patient_key", typed=True),
    Column("performed_on", _date(Procedure.performed_on), DATE),
    Column("technique", Technique.code),
    Column("planned_technique", _planned.code),
    Column(
        "deviation",
        case(
            (_planned.code.is_(None), "no"),
            (_planned.code != Technique.code, "yes"),
            else_="no",
        ),
    ),
    _text(Procedure, "deviation_reason"),
    _text(Procedure, "target"),
    _plain(Procedure, "distance_mm"),
    _plain(Procedure, "cryo_cycles"),
    _plain(Procedure, "cryo_freeze_minutes"),
    _plain(Procedure, "cryo_probe_temperature_c"),
    _plain(Procedure, "rf_temperature_c"),
    _plain(Procedure, "rf_duration_seconds"),
    _plain(Procedure, "toxin_units"),
    _plain(Procedure, "cement_volume_ml"),
    Column("cement_levels", Procedure.cement_levels, TEXT),
    _text(Procedure, "immediate_result"),
    Column("operators", _operator_names, TEXT, identifying=True),
    Column(
        "adverse_events",
        select(func.count(AdverseEvent.id))
        .where(AdverseEvent.procedure_id == Procedure.id)
        .scalar_subquery(),
    ),
    Column(
        "worst_cirse_grade",
        select(func.max(AdverseEvent.cirse_grade))
        .where(AdverseEvent.procedure_id == Procedure.id)
        .scalar_subquery(),
    ),
)

ASSESSMENT_COLUMNS = (
    Column("assessment_id", Assessment.id, KEY, pseudonym="assessment_key"),
    Column("case_number", Referral.case_number, KEY, pseudonym="case_key"),
    Column("patient_mrn", Patient.mrn, KEY, pseudonym="patient_key", typed=True),
    Column("procedure_id", Procedure.id, KEY, pseudonym="procedure_key"),
    *_entered(
        Assessment,
        AssessmentForm,
        after={
            "assessed_on": (
                Column(
                    "days_after_procedure",
                    days_between(Assessment.assessed_on, Procedure.performed_on),
                ),
                Column("timepoint_days", FollowUp.offset_days),
                Column("timepoint", FollowUp.offset_days, TIMEPOINT),
            ),
            "nrs_worst": (
                Column("baseline_nrs", Referral.nrs_average),
                Column(
                    "reduction_pct",
                    case(
                        (
                            Referral.nrs_average > 0,
                            func.round(
                                cast(
                                    (Referral.nrs_average - Assessment.nrs_average)
                                    * 100.0
                                    / Referral.nrs_average,
                                    Numeric,
                                ),
                                1,
                            ),
                        ),
                        else_=None,
                    ),
                ),
                # What the reading counts as, by the rule the verdict and the
                # outcomes use: empty when it does not count.
                Column(
                    "response",
                    _code(
                        reading_category_sql(
                            Referral.nrs_average,
                            Assessment.nrs_average,
                            Assessment.pain_is_back,
                            Procedure.performed_on,
                            Assessment.assessed_on,
                            Technique.counts_from_day,
                        )
                    ),
                ),
            ),
        },
    ),
)


def _cases(filters: OutcomeFilters, columns: list[Any]) -> Select[Any]:
    query = (
        select(*columns, Patient.birth_on.label("birth_on_"), Patient.mrn.label("mrn_"))
        .select_from(Referral)
        .join(Patient, Patient.id == Referral.patient_id)
        .outerjoin(Indication, Indication.id == Referral.indication_id)
        .outerjoin(User, User.id == Referral.referrer_id)
        .outerjoin(_previous, _previous.id == Referral.previous_referral_id)
        .order_by(Referral.id)
    )
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    if filters.since is not None:
        query = query.where(Referral.referral_on >= filters.since)
    if filters.until is not None:
        query = query.where(Referral.referral_on <= filters.until)
    return query


def _decisions(filters: OutcomeFilters, columns: list[Any]) -> Select[Any]:
    from tracker.outcomes.queries import _case_filters, _meeting_period

    query = (
        select(*columns, Patient.mrn.label("mrn_"))
        .select_from(Decision)
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


def _procedures(filters: OutcomeFilters, columns: list[Any]) -> Select[Any]:
    return (
        select(*columns, Patient.mrn.label("mrn_"))
        .select_from(Procedure)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .join(Technique, Technique.id == Procedure.technique_id)
        .outerjoin(ProcedurePlan, ProcedurePlan.id == Procedure.plan_id)
        .outerjoin(_planned, _planned.id == ProcedurePlan.technique_id)
        .where(Procedure.id.in_(procedure_scope(filters)))
        .order_by(Procedure.id)
    )


def _assessments(filters: OutcomeFilters, columns: list[Any]) -> Select[Any]:
    return (
        select(*columns, Patient.mrn.label("mrn_"), _code(FollowUp.kind).label("followup_kind_"))
        .select_from(Assessment)
        .join(Procedure, Procedure.id == Assessment.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .join(Technique, Technique.id == Procedure.technique_id)
        .outerjoin(FollowUp, FollowUp.id == Assessment.followup_id)
        .where(Assessment.procedure_id.in_(procedure_scope(filters)))
        .order_by(Assessment.id)
    )


@dataclass(frozen=True)
class ExportKind:
    name: str
    columns: tuple[Column, ...]
    query: Callable[[OutcomeFilters, list[Any]], Select[Any]]


KINDS = {
    "cases": ExportKind("cases", CASE_COLUMNS, _cases),
    "decisions": ExportKind("decisions", DECISION_COLUMNS, _decisions),
    "procedures": ExportKind("procedures", PROCEDURE_COLUMNS, _procedures),
    "assessments": ExportKind("assessments", ASSESSMENT_COLUMNS, _assessments),
}


class Pseudonyms:
    """Keyed hashes and per-patient date shifts, from the site's key."""

    def __init__(self, key: bytes) -> None:
        self._key = key
        self._shifts: dict[str, timedelta] = {}

    @classmethod
    def for_site(cls) -> Pseudonyms:
        config = current_app.config
        secret = config.get("PSEUDONYM_KEY") or config["SECRET_KEY"]
        return cls(hmac.new(secret.encode(), b"rcp-tracker pseudonyms", hashlib.sha256).digest())

    def _digest(self, text: str) -> bytes:
        return hmac.digest(self._key, text.encode(), "sha256")

    def key(self, prefix: str, value: Any) -> str | None:
        if value is None:
            return None
        return f"{prefix}-{self._digest(f'{prefix}:{value}').hex()[:16]}"

    def keyer(self, prefix: str, *, remember: bool) -> Callable[[Any], str | None]:
        """``key`` for one prefix; with ``remember``, each value's key is kept
        (patients and cases come back on many rows of one export)."""
        if not remember:
            return lambda value: self.key(prefix, value)
        known: dict[Any, str | None] = {}

        def key(value: Any) -> str | None:
            found = known.get(value)
            if found is None:
                found = known[value] = self.key(prefix, value)
            return found

        return key

    def shift(self, mrn: str) -> timedelta:
        """Between 182 days back and 182 days on, never none, the same for every
        date of one patient."""
        shift = self._shifts.get(mrn)
        if shift is None:
            number = int.from_bytes(self._digest(f"shift:{mrn}")[:4], "big") % 364
            shift = timedelta(days=number - 182 if number < 182 else number - 181)
            self._shifts[mrn] = shift
        return shift


KEY_PREFIXES = {
    "case_key": "C",
    "previous_case_key": "C",
    "patient_key": "P",
    "decision_key": "D",
    "procedure_key": "R",
    "assessment_key": "A",
}


def _kept(kind: ExportKind, variant: str) -> list[Column]:
    if variant == IDENTIFIED:
        return list(kind.columns)
    return [column for column in kind.columns if not column.identifying]


def header(kind: ExportKind, variant: str) -> list[str]:
    return [
        column.pseudonym if variant == PSEUDONYMISED and column.kind == KEY else column.name
        for column in _kept(kind, variant)
    ]


def _age(referral_on: date | None, row: Any) -> int | None:
    return age_on(row.birth_on_, referral_on) if referral_on else None


def _as_list(value: Any) -> Any:
    if isinstance(value, str):  # SQLite hands JSON over as text
        value = json.loads(value)
    if not value:
        return None
    return ";".join(str(item) for item in value)


def _local_date(value: datetime | None) -> date | None:
    return None if value is None else to_local(value).date()


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _timepoint(days: int | None, row: Any) -> str | None:
    """The time point a follow-up is, by the label the outcomes page groups by
    (``followups.rules.describe_day``): day 90 and day 91 are both "month_3"."""
    if days is None:
        return None
    if row.followup_kind_ == FollowUpKind.REGROWTH.name:
        return "regrowth"
    unit, count = describe_day(days)
    return f"{unit}_{count}"


Fix = Callable[[Any, Any], Any]


def _fixes(kind: ExportKind, variant: str) -> list[tuple[int, Fix]]:
    """What Python still does to each row: (cell index, f(value, row))."""
    pseudonyms = Pseudonyms.for_site() if variant == PSEUDONYMISED else None
    fixes: list[tuple[int, Fix]] = []
    for index, column in enumerate(_kept(kind, variant)):
        if column.kind == TEXT:
            fixes.append((index, lambda value, row: csv_cell(value) if value else value))
        elif column.kind == AGE:
            fixes.append(
                (index, lambda value, row: age_on(row.birth_on_, value) if value else None)
            )
        elif column.kind == LIST:
            fixes.append((index, lambda value, row: _as_list(value)))
        elif column.kind == TIMEPOINT:
            fixes.append((index, _timepoint))
        elif column.kind == LOCAL_DATE:
            if pseudonyms is None:
                fixes.append((index, lambda value, row: _local_date(value)))
            else:
                fixes.append((index, _shifted(pseudonyms, _local_date)))
        elif column.kind == DATE and pseudonyms is not None:
            fixes.append((index, _shifted(pseudonyms, _as_date)))
        elif column.kind == KEY:
            if pseudonyms is None:
                if column.typed:
                    fixes.append((index, lambda value, row: csv_cell(value)))
            else:
                prefix = KEY_PREFIXES[column.pseudonym]
                # Every assessment is one row: its key is not worth keeping.
                keyer = pseudonyms.keyer(prefix, remember=prefix != "A")
                # The default binds this column's keyer; mypy cannot type such a lambda.
                fixes.append((index, lambda value, row, keyer=keyer: keyer(value)))  # type: ignore[misc]
    return fixes


def _shifted(pseudonyms: Pseudonyms, parse: Callable[[Any], date | None]) -> Fix:
    def fix(value: Any, row: Any) -> Any:
        day = parse(value)
        return None if day is None else day + pseudonyms.shift(row.mrn_)

    return fix


def rows(
    kind: ExportKind, variant: str, filters: OutcomeFilters, batch: int = 2000
) -> Iterator[list[Any]]:
    """The export's rows, cells ready to write, read ``batch`` at a time."""
    columns = _kept(kind, variant)
    query = kind.query(filters, [column.sql.label(column.name) for column in columns])
    fixes = _fixes(kind, variant)
    width = len(columns)
    # Core, not the ORM: plain rows, nothing to track.
    result = db.session.connection().execute(query.execution_options(yield_per=batch))
    for row in result:
        cells = list(row[:width])
        for index, fix in fixes:
            cells[index] = fix(cells[index], row)
        yield cells

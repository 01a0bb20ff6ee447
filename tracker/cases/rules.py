"""Rules of a case that need no database: its statuses and when it is complete.

Pure functions on plain data, tested without a database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext

from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.errors import DomainError


class CaseStatus(LabelledEnum):
    DRAFT = "draft"
    REFERRED = "referred"
    SCHEDULED = "scheduled"
    DISCUSSED = "discussed"
    PLANNED = "planned"
    TREATED = "treated"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


with_labels(
    CaseStatus,
    {
        CaseStatus.DRAFT: _l("Draft"),
        CaseStatus.REFERRED: _l("Referred, waiting for a meeting"),
        CaseStatus.SCHEDULED: _l("On an agenda"),
        CaseStatus.DISCUSSED: _l("Discussed"),
        CaseStatus.PLANNED: _l("Procedure planned"),
        CaseStatus.TREATED: _l("Treated"),
        CaseStatus.FOLLOW_UP: _l("In follow-up"),
        CaseStatus.CLOSED: _l("Closed"),
        CaseStatus.WITHDRAWN: _l("Withdrawn"),
    },
)

S = CaseStatus

#: Every allowed move of a case, in one place.  The main path is
#: draft -> referred -> scheduled -> discussed -> planned -> treated -> follow-up
#: -> closed; the other moves are the ways real cases leave it.
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    # A referral becomes "referred" once complete, and back to draft if emptied.
    S.DRAFT: frozenset({S.REFERRED, S.WITHDRAWN}),
    S.REFERRED: frozenset({S.DRAFT, S.SCHEDULED, S.WITHDRAWN}),
    # Removed from the agenda (back to waiting), or discussed at the meeting.
    S.SCHEDULED: frozenset({S.REFERRED, S.DISCUSSED, S.WITHDRAWN}),
    # Postponed (waiting again or straight onto the next agenda), a procedure
    # planned, or closed when the team proposed no procedure.
    S.DISCUSSED: frozenset({S.REFERRED, S.SCHEDULED, S.PLANNED, S.CLOSED, S.WITHDRAWN}),
    # The patient may refuse or the plan may be abandoned.
    S.PLANNED: frozenset({S.TREATED, S.CLOSED, S.WITHDRAWN}),
    S.TREATED: frozenset({S.FOLLOW_UP, S.CLOSED}),
    S.FOLLOW_UP: frozenset({S.CLOSED}),
    # A closed case is reopened by an assessment that reports recurrence.
    S.CLOSED: frozenset({S.FOLLOW_UP}),
    S.WITHDRAWN: frozenset(),
}

#: Statuses in which the referral sheet can still be edited. Once discussed,
#: the sheet is what the meeting saw; new facts mean presenting the case again.
EDITABLE = frozenset({S.DRAFT, S.REFERRED, S.SCHEDULED})

#: A patient referred this recently is probably the same referral sent again:
#: a new one is saved only once the referrer confirms it.
RECENT_REFERRAL = timedelta(minutes=10)


class InvalidTransition(DomainError):
    pass


def can_transition(current: CaseStatus, new: CaseStatus) -> bool:
    return new in ALLOWED_TRANSITIONS[current]


def check_transition(current: CaseStatus, new: CaseStatus) -> None:
    if not can_transition(current, new):
        raise InvalidTransition(
            _l(
                "A case cannot go from “%(current)s” to “%(new)s”.",
                current=current.label,
                new=new.label,
            )
        )


#: Labels of the referral sheet's fields, shared by the forms, the list of
#: what is missing and the edit-conflict report.
FIELD_LABELS: dict[str, Any] = {
    "referrer_id": _l("Referring physician"),
    "external_referrer": _l("Doctor who sent the patient (outside the team)"),
    "referral_on": _l("Referral date"),
    "urgency": _l("Urgency"),
    "indication_id": _l("Indication"),
    "pain_site": _l("Pain site"),
    "pain_side": _l("Side"),
    "mechanism": _l("Pain mechanism"),
    "pain_duration_months": _l("Duration of pain (months)"),
    "nrs_now": _l("Pain now (NRS 0-10)"),
    "nrs_average": _l("Average pain (NRS 0-10)"),
    "nrs_worst": _l("Worst pain (NRS 0-10)"),
    "dn4": _l("DN4 score (0-10)"),
    "treatments_tried": _l("Treatments already tried"),
    "treatments_other": _l("Other treatments tried, doses, effect"),
    "anticoagulation": _l("Anticoagulant or antiplatelet therapy"),
    "anticoagulation_details": _l("Drugs and doses"),
    "allergies": _l("Allergies"),
    "imaging": _l("Relevant imaging available"),
    "is_oncology": _l("Cancer context"),
    "primary_tumour": _l("Primary tumour"),
    "has_bone_metastases": _l("Bone metastases"),
    "question": _l("Question put to the meeting"),
    "patient_agreed_on": _l("Date the patient agreed to the case being presented"),
}

#: What the meeting needs on the referral sheet before the case can be scheduled.
REQUIRED_FOR_MEETING = (
    "referrer_id",
    "referral_on",
    "indication_id",
    "pain_site",
    "pain_side",
    "mechanism",
    "pain_duration_months",
    "nrs_now",
    "nrs_average",
    "nrs_worst",
    "treatments_tried",
    "anticoagulation",
    "allergies",
    "question",
    "patient_agreed_on",
)


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Iterable):
        return not list(value)
    return False


#: The form of a case number, e.g. RCP-2026-0042: the year of the referral and
#: its rank in that year (never reused).
CASE_NUMBER_FORM = re.compile(r"RCP-(?P<year>\d{4})-(?P<number>\d{4,})")


def case_number(year: int, number: int) -> str:
    return f"RCP-{year}-{number:04d}"


def missing_fields(referral: Any) -> list[str]:
    """Names of the fields the meeting needs that are still empty.

    Treatments count as filled when one is ticked or some are written out.
    """
    missing = []
    for name in REQUIRED_FOR_MEETING:
        value = getattr(referral, name, None)
        if name == "treatments_tried" and _blank(value):
            value = getattr(referral, "treatments_other", None)
        if _blank(value):
            missing.append(name)
    return missing


def missing_labels(referral: Any) -> list[str]:
    return [str(FIELD_LABELS[name]) for name in missing_fields(referral)]


def status_after_edit(current: CaseStatus, complete: bool) -> CaseStatus:
    """A draft becomes "referred" once complete; a waiting case goes back to
    draft when emptied. Other statuses are moved by meetings and decisions."""
    if current is S.DRAFT and complete:
        return S.REFERRED
    if current is S.REFERRED and not complete:
        return S.DRAFT
    return current


MAX_AGE_YEARS = 120


def birth_date_problem(birth_on: date, today: date) -> Any | None:
    """Why a birth date cannot be right, or None."""
    if birth_on > today:
        return _l("The birth date is in the future.")
    try:
        oldest = today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        oldest = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
    if birth_on < oldest:
        return ngettext(
            "The birth date is more than %(num)d year ago.",
            "The birth date is more than %(num)d years ago.",
            MAX_AGE_YEARS,
        )
    return None


def pain_duration_on(months: int | None, given_on: date | None, today: date) -> int | None:
    """A pain duration in months given on ``given_on``, as it stands ``today``:
    the whole months since added (24 months given ten months ago is 34 now)."""
    if months is None or given_on is None or given_on >= today:
        return months
    elapsed = (today.year - given_on.year) * 12 + today.month - given_on.month
    if today.day < given_on.day:
        elapsed -= 1
    return months + elapsed


def not_in_future_problem(value: date, today: date) -> Any | None:
    if value > today:
        return _l("This date is in the future.")
    return None


#: The unit keeps no case from before this day: an earlier date is a typing error
#: (a referral dated 1900 would be numbered RCP-1900-0001).
EARLIEST_CASE_DAY = date(2000, 1, 1)


def case_date_problem(value: date, today: date, birth_on: date | None = None) -> Any | None:
    """Why a date of a case (referral, the patient's agreement) cannot be right:
    in the future, before 2000, or before the patient was born."""
    problem = not_in_future_problem(value, today)
    if problem:
        return problem
    if value < EARLIEST_CASE_DAY:
        return _l("This date is before %(year)d: check the year.", year=EARLIEST_CASE_DAY.year)
    if birth_on is not None and value < birth_on:
        return _l("This date is before the patient's birth date.")
    return None


def mrn_problem(mrn: str, pattern: str) -> Any | None:
    if not re.fullmatch(pattern, mrn):
        return _l(
            "This hospital number does not have the expected form (%(pattern)s).",
            pattern=describe_mrn_pattern(pattern),
        )
    return None


def describe_mrn_pattern(pattern: str) -> str:
    if pattern == DEFAULT_MRN_PATTERN:
        return str(_l("4 to 20 letters and digits"))
    return pattern


DEFAULT_MRN_PATTERN = r"[A-Za-z0-9]{4,20}"


# --- safety facts -------------------------------------------------------------------

#: What referrers write when the patient has no allergy (the form asks for "none known").
NO_ALLERGY = re.compile(
    r"^\s*(none|none known|no known (drug )?allerg(y|ies)|nkda|nka|no|nil|"
    r"aucune?|aucune? connue?|pas d'allergies?( connues?)?|néant|ras|-+)\s*\.?\s*$",
    re.IGNORECASE,
)
#: Anticoagulant or antiplatelet therapies (names of ``Anticoagulation`` members).
BLEEDING_RISK = ("ANTIPLATELET", "ANTICOAGULANT", "BOTH")


@dataclass(frozen=True)
class SafetyFact:
    """A fact of the referral that no one planning a procedure may miss.

    ``level`` is how it is shown (``danger``, ``warning``, ``info``); the
    words always say what it is, so that colour never carries it alone.
    """

    kind: str
    label: Any
    detail: str | None = None
    level: str = "danger"


def safety_facts(referral: Any) -> list[SafetyFact]:
    """Urgency, anticoagulant or antiplatelet therapy, allergies and the oncology
    context of a referral; a risk not stated is a fact too."""
    facts = []
    if getattr(referral.urgency, "name", None) == "URGENT":
        facts.append(SafetyFact("urgent", _l("Urgent")))
    therapy = referral.anticoagulation
    details = (referral.anticoagulation_details or "").strip() or None
    if therapy is None:
        facts.append(
            SafetyFact("anticoagulation", _l("Anticoagulation not stated"), None, "warning")
        )
    elif therapy.name in BLEEDING_RISK:
        facts.append(SafetyFact("anticoagulation", therapy.label, details))
    allergies = (referral.allergies or "").strip()
    if not allergies:
        facts.append(SafetyFact("allergy", _l("Allergies not stated"), None, "warning"))
    elif not NO_ALLERGY.match(allergies):
        facts.append(SafetyFact("allergy", _l("Allergy"), allergies))
    if referral.is_oncology:
        context = [(referral.primary_tumour or "").strip()]
        if referral.has_bone_metastases:
            context.append(str(_l("bone metastases")))
        facts.append(
            SafetyFact(
                "oncology", _l("Oncology context"), ", ".join(filter(None, context)) or None, "info"
            )
        )
    return facts

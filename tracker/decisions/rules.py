"""Decision and procedure rules that need no database."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Enum, and_, case, type_coerce

from tracker.cases.rules import CaseStatus
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.errors import DomainError
from tracker.core.i18n import lazy_day
from tracker.decisions.models import Anaesthesia, CareSetting, Guidance, NotCarriedOut, Outcome

#: Fields a validated decision may still correct, by amendment with a reason.
#: Changing the outcome itself needs a new discussion at a meeting.
AMENDABLE = (
    "reasons",
    "follows_guidelines",
    "guideline_reference",
    "clinical_trial_proposed",
    "clinical_trial",
)

#: Where a case goes once its decision is validated; ``None`` means it is
#: presented again (postponed).
STATUS_AFTER = {
    Outcome.PROCEDURE_PROPOSED: CaseStatus.PLANNED,
    Outcome.FURTHER_INVESTIGATION: CaseStatus.DISCUSSED,
    Outcome.MEDICAL_TREATMENT: CaseStatus.CLOSED,
    Outcome.REFERRAL_ELSEWHERE: CaseStatus.CLOSED,
    Outcome.NOT_INDICATED: CaseStatus.CLOSED,
    Outcome.POSTPONED: None,
}


def check_validation(
    *,
    outcome: Outcome | None,
    reasons: str | None,
    quorum_met: bool,
    plan: Any,
    attendance_validated: bool,
) -> None:
    """Why a decision cannot be validated as it stands (raises), or nothing.

    The chair signs the attendance sheet first: the decision sheet names who
    decided, and they are those of the signed sheet (HAS method sheet: the
    chair checks the quorum and validates the attendance). Without quorum the
    case can only be postponed and presented again.
    """
    if not attendance_validated:
        raise DomainError(
            _l(
                "The chair validates the attendance sheet first: the decision sheet names "
                "those present."
            ),
            "attendance",
        )
    if outcome is None:
        raise DomainError(_l("Choose the decision."), "outcome")
    if not (reasons or "").strip():
        raise DomainError(_l("Give the reasons for the decision."), "reasons")
    if not quorum_met and outcome is not Outcome.POSTPONED:
        raise DomainError(
            _l("The quorum is not met: the case can only be postponed and presented again."),
            "outcome",
        )
    if outcome is Outcome.PROCEDURE_PROPOSED:
        check_plan(plan)


def check_plan(plan: Any) -> None:
    if plan is None or getattr(plan, "technique_id", None) is None:
        raise DomainError(_l("A proposed procedure needs its technique."), "technique_id")
    if not (getattr(plan, "target", None) or "").strip():
        raise DomainError(
            _l("A proposed procedure needs its target (nerve, neuroma, level, joint...)."),
            "target",
        )


# The typed parameters of a procedure, one group per technique family.
TECHNIQUE_PARAMETERS = (
    "cryo_cycles",
    "cryo_freeze_minutes",
    "cryo_probe_temperature_c",
    "rf_temperature_c",
    "rf_duration_seconds",
    "toxin_units",
    "cement_volume_ml",
    "cement_levels",
)

NON_NEGATIVE = (
    "distance_mm",
    "cryo_cycles",
    "cryo_freeze_minutes",
    "rf_duration_seconds",
    "toxin_units",
    "cement_volume_ml",
)


def check_procedure(
    values: dict[str, Any],
    *,
    decided_on: date,
    today: date,
    planned_technique_id: int | None,
) -> None:
    performed_on = values.get("performed_on")
    if performed_on is None:
        raise DomainError(_l("Give the date of the procedure."), "performed_on")
    if performed_on > today:
        raise DomainError(_l("This date is in the future."), "performed_on")
    if performed_on < decided_on:
        raise DomainError(
            _l(
                "The procedure cannot come before the decision (%(date)s).",
                date=lazy_day(decided_on),
            ),
            "performed_on",
        )
    if values.get("technique_id") is None:
        raise DomainError(_l("Give the technique used."), "technique_id")
    deviates = planned_technique_id is not None and values["technique_id"] != planned_technique_id
    if deviates and not (values.get("deviation_reason") or "").strip():
        raise DomainError(
            _l("The technique differs from the plan: say why (it is recorded as a deviation)."),
            "deviation_reason",
        )
    for name in NON_NEGATIVE:
        value = values.get(name)
        if value is not None and value < 0:
            raise DomainError(_l("This value cannot be negative."), name)


#: The prerequisite that is the patient's informed consent (a column of the plan).
CONSENT = "consent_on"


def check_prerequisites(
    pending: list[str],
    answers: dict[str, tuple[date | None, str | None]],
    *,
    performed_on: date | None,
    today: date,
    consent_required: bool,
) -> tuple[dict[str, date], dict[str, str]]:
    """What the operator says of each prerequisite still unticked on the plan
    (``pending``) as the procedure is recorded: done (on a date, ticked then)
    or not done, and why. Returns (done, not done with the reasons).

    The patient's informed consent must be recorded before a procedure;
    ``consent_required`` off (a site setting) lets it through with its reason.
    """
    done: dict[str, date] = {}
    not_done: dict[str, str] = {}
    for name in pending:
        done_on, why_not = answers.get(name, (None, None))
        why_not = (why_not or "").strip()
        if done_on is not None:
            if done_on > today:
                raise DomainError(_l("This date is in the future."), name)
            if performed_on is not None and done_on > performed_on:
                raise DomainError(
                    _l("This date is after the procedure: a prerequisite is done before it."), name
                )
            done[name] = done_on
        elif name == CONSENT and consent_required:
            raise DomainError(
                _l(
                    "The patient's consent must be recorded before the procedure: "
                    "give the date it was given."
                ),
                name,
            )
        elif why_not:
            not_done[name] = why_not
        else:
            raise DomainError(
                _l("Still unticked on the plan: give the date it was done, or say why not."),
                name,
            )
    return done, not_done


def check_cirse_grade(grade: Any) -> None:
    if not isinstance(grade, int) or not 1 <= grade <= 6:
        raise DomainError(_l("The CIRSE grade goes from 1 to 6."), "cirse_grade")


# --- follow-through: was the proposal carried out? --------------------------------------


class Implementation(LabelledEnum):
    """What became of a validated proposal of a procedure (DOMAIN "Decision follow-through")."""

    PENDING = "pending"
    AS_PLANNED = "as_planned"
    WITH_DEVIATION = "with_deviation"
    NOT_CARRIED_OUT = "not_carried_out"


with_labels(
    Implementation,
    {
        Implementation.PENDING: _l("Pending"),
        Implementation.AS_PLANNED: _l("Carried out as planned"),
        Implementation.WITH_DEVIATION: _l("Carried out with a deviation"),
        Implementation.NOT_CARRIED_OUT: _l("Not carried out"),
    },
)

#: Carried out, whether as planned or not.
CARRIED_OUT = (Implementation.AS_PLANNED, Implementation.WITH_DEVIATION)


def deviates(planned_technique_id: int | None, used_technique_id: int) -> bool:
    """A procedure deviates from its plan when it used another technique than
    the one planned (a plan without a technique sets none to deviate from)."""
    return planned_technique_id is not None and used_technique_id != planned_technique_id


def implementation(
    planned_technique_id: int | None,
    first_technique_id: int | None,
    not_carried_out: NotCarriedOut | None,
) -> Implementation:
    """A proposal is carried out by its first procedure (``first_technique_id``
    is that procedure's technique, ``None`` when there is none yet), as planned
    or with a deviation; without one, it is not carried out when the team said
    so (with a reason), and pending otherwise. A procedure recorded after all
    counts: it was carried out."""
    if first_technique_id is not None:
        if deviates(planned_technique_id, first_technique_id):
            return Implementation.WITH_DEVIATION
        return Implementation.AS_PLANNED
    if not_carried_out is not None:
        return Implementation.NOT_CARRIED_OUT
    return Implementation.PENDING


def implementation_sql(
    planned_technique_id: Any, first_technique_id: Any, not_carried_out: Any
) -> ColumnElement[Implementation]:
    """``implementation`` in SQL, of three column expressions (the first
    procedure's technique is ``queries.first_procedure_technique``)."""
    stored_as: Any = Enum(Implementation, native_enum=False, length=40)
    return type_coerce(
        case(
            (
                and_(
                    first_technique_id.is_not(None),
                    planned_technique_id.is_not(None),
                    first_technique_id != planned_technique_id,
                ),
                Implementation.WITH_DEVIATION.name,
            ),
            (first_technique_id.is_not(None), Implementation.AS_PLANNED.name),
            (not_carried_out.is_not(None), Implementation.NOT_CARRIED_OUT.name),
            else_=Implementation.PENDING.name,
        ),
        stored_as,
    )


def check_not_carried_out(
    reason: NotCarriedOut | None,
    note: str | None,
    *,
    on: date | None,
    decided_on: date,
    today: date,
    status: Implementation,
) -> None:
    """Why "not carried out" cannot be recorded as given (raises), or nothing."""
    if status in CARRIED_OUT:
        raise DomainError(_l("A procedure is recorded for this proposal: it was carried out."))
    if reason is None:
        raise DomainError(_l("Choose why the procedure was not carried out."), "reason")
    if reason is NotCarriedOut.OTHER and not (note or "").strip():
        raise DomainError(_l("Say what the other reason is."), "note")
    if on is None:
        raise DomainError(_l("Give the date."), "on")
    if on > today:
        raise DomainError(_l("This date is in the future."), "on")
    if on < decided_on:
        raise DomainError(
            _l(
                "This date cannot come before the decision (%(date)s).",
                date=lazy_day(decided_on),
            ),
            "on",
        )


def pending_too_long(validated_on: date, today: date, days: int) -> bool:
    """A proposal still pending is flagged once ``days`` have passed since its
    validation (the day it is due counts)."""
    return (today - validated_on).days >= days


#: The plan's fields a technique's defaults fill in (a block: all or none).
TECHNIQUE_DEFAULTS = {
    "guidance": "default_guidance",
    "anaesthesia": "default_anaesthesia",
    "care_setting": "default_care_setting",
    "anaesthetist_needed": "default_anaesthetist_needed",
}


def prefill_plan(data: dict[str, Any], referral: Any, technique: Any) -> dict[str, Any]:
    """The plan form's starting values: ``data`` (what the plan holds), with the
    referral's side and pain site where the plan has none, and, when none of
    its guidance, anaesthesia, setting or anaesthetist is set yet, the
    technique's usual ones. Never replaces a value already there; nothing is
    saved until the user saves the form."""
    filled = dict(data)
    if not filled.get("side") and referral is not None and referral.pain_side is not None:
        filled["side"] = referral.pain_side
    if not filled.get("target") and referral is not None and referral.pain_site:
        filled["target"] = referral.pain_site
    if technique is None or any(filled.get(name) for name in TECHNIQUE_DEFAULTS):
        return filled
    guidance = [Guidance[n] for n in technique.default_guidance or [] if n in Guidance.__members__]
    if guidance:
        filled["guidance"] = guidance
    for name, enum in (("anaesthesia", Anaesthesia), ("care_setting", CareSetting)):
        value = getattr(technique, TECHNIQUE_DEFAULTS[name])
        if value in enum.__members__:
            filled[name] = enum[value]
    if technique.default_anaesthetist_needed is not None:
        filled["anaesthetist_needed"] = technique.default_anaesthetist_needed
    return filled

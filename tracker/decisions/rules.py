"""Decision and procedure rules that need no database."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from tracker.cases.rules import CaseStatus
from tracker.core.errors import DomainError
from tracker.decisions.models import Outcome

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
    *, outcome: Outcome | None, reasons: str | None, quorum_met: bool, plan: Any
) -> None:
    """Why a decision cannot be validated as it stands (raises), or nothing.

    Without quorum the case can only be postponed and presented again (HAS
    method sheet: the quorum is checked by the chair).
    """
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
            _l("The procedure cannot come before the decision (%(date)s).", date=decided_on),
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


def check_cirse_grade(grade: Any) -> None:
    if not isinstance(grade, int) or not 1 <= grade <= 6:
        raise DomainError(_l("The CIRSE grade goes from 1 to 6."), "cirse_grade")

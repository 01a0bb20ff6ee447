"""The meetings' discussion of a case, their decision, the patient's answer,
the procedure plan and the procedure performed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.rules import BLEEDING_RISK, CaseStatus
from tracker.catalogue.models import Technique
from tracker.decisions.models import (
    PREREQUISITES,
    AdverseEvent,
    Anaesthesia,
    CareSetting,
    Decision,
    DecisionStatus,
    Guidance,
    Outcome,
    PatientAnswer,
    PlanPriority,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.decisions.rules import (
    STATUS_AFTER,
    TECHNIQUE_PARAMETERS,
    check_cirse_grade,
    check_prerequisites,
    check_procedure,
    check_validation,
)
from tracker.demo.bulk import weighted
from tracker.demo.calendar import (
    MeetingSlot,
    meeting_after,
    next_meeting_with_room,
    place_on_agenda,
)
from tracker.demo.mix import NERVE_DISTANCES, TARGETS
from tracker.demo.referrals import move

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator

#: What a meeting with quorum decides.
OUTCOMES = (
    (Outcome.PROCEDURE_PROPOSED, 0.77),
    (Outcome.MEDICAL_TREATMENT, 0.09),
    (Outcome.FURTHER_INVESTIGATION, 0.05),
    (Outcome.NOT_INDICATED, 0.04),
    (Outcome.REFERRAL_ELSEWHERE, 0.04),
    (Outcome.POSTPONED, 0.01),
)
#: What the patient answers to a proposed procedure.
ANSWERS = (
    (PatientAnswer.ACCEPTS, 0.93),
    (PatientAnswer.REFUSES, 0.05),
    (PatientAnswer.WANTS_TIME, 0.02),
)
REASONS = {
    Outcome.POSTPONED: "Presented again at the next meeting.",
}
#: Why a prerequisite left unticked was not needed.
NOT_NEEDED = {
    "anticoagulation_managed_on": "No anticoagulant or antiplatelet therapy.",
    "fasting_on": "Local anaesthesia: no fasting needed.",
}
#: Days from the meeting to the patient hearing of the proposal.
DAYS_TO_INFORM = 7


class _Plan:
    """A queued plan row read as ``check_plan`` reads a plan (attributes)."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.technique_id = row["technique_id"]
        self.target = row["target"]


@dataclass(frozen=True)
class Proposal:
    """A procedure proposed, planned and accepted by the patient."""

    plan_id: int
    technique_code: str
    distance: int | None
    decided_on: date
    #: The prerequisites left unticked on the plan.
    pending: tuple[str, ...] = ()


@dataclass(frozen=True)
class Performed:
    procedure_id: int
    technique: Technique
    performed_on: date
    distance: int | None
    worst_cirse_grade: int | None


def discuss(gen: Generator, referral: dict[str, Any], technique_code: str) -> Proposal | None:
    """The case on the agenda of a meeting with room, then of the next one for
    as long as it is postponed (always, without quorum: ``check_validation``);
    the procedure the patient accepted, if one is to be performed."""
    rng = gen.rng
    slot = meeting_after(gen, referral["referral_on"] + timedelta(days=rng.randint(2, 20)))
    when = referral["created_at"]
    while slot is not None:
        item_id = place_on_agenda(gen, referral, slot, when)
        if not slot.held:
            return None  # on the agenda of a meeting to come
        outcome = weighted(rng, OUTCOMES) if slot.quorum.is_met else Outcome.POSTPONED
        decided_at = slot.starts_at + timedelta(minutes=30)
        plan = (
            _plan(gen, referral, technique_code) if outcome is Outcome.PROCEDURE_PROPOSED else None
        )
        informed_on, answer = _answer(gen, slot.day) if plan is not None else (None, None)
        decision = _validated(gen, referral, slot, item_id, outcome, plan, decided_at)
        target = STATUS_AFTER[outcome]
        if target is None:
            # Postponed: onto the next meeting with room, or back to waiting.
            slot, when = next_meeting_with_room(gen, slot), decided_at
            if slot is None:
                move(gen, referral, CaseStatus.REFERRED, decided_at)
            continue
        if target is not referral["status"]:
            move(gen, referral, target, decided_at)
        if plan is None:
            return None
        plan["decision_id"] = decision["id"]
        gen.rows.add(ProcedurePlan.__table__, plan)
        if answer is None:
            return None  # the patient has not been told yet
        decision |= {
            "informed_on": informed_on,
            "informed_by_id": referral["referrer_id"],
            "patient_answer": answer,
        }
        if answer is PatientAnswer.REFUSES:
            # As ``record_patient_answer``: a refused proposal closes the case.
            move(gen, referral, CaseStatus.CLOSED, gen.at(informed_on, 12))
        if answer is not PatientAnswer.ACCEPTS:
            return None
        # The checklist as the team fills it in once the patient accepts: the
        # anticoagulant is managed when there is one, fasting when sedated.
        plan["consent_on"] = plan["blood_tests_on"] = informed_on
        if referral["anticoagulation"].name in BLEEDING_RISK:
            plan["anticoagulation_managed_on"] = informed_on
        if plan["anaesthesia"] is Anaesthesia.SEDATION:
            plan["fasting_on"] = informed_on
        pending = tuple(name for name, _label in PREREQUISITES if plan.get(name) is None)
        return Proposal(plan["id"], technique_code, plan["distance_mm"], slot.day, pending)
    return None


def _answer(gen: Generator, decided_on: date) -> tuple[date | None, PatientAnswer | None]:
    """The patient hears of the proposal a week after the meeting (unless that
    is still to come) and accepts, refuses or wants time."""
    informed_on = decided_on + timedelta(days=DAYS_TO_INFORM)
    if informed_on > gen.today:
        return None, None
    return informed_on, weighted(gen.rng, ANSWERS)


def _plan(gen: Generator, referral: dict[str, Any], technique_code: str) -> dict[str, Any]:
    rng = gen.rng
    low_high = NERVE_DISTANCES.get(technique_code)
    return {
        "id": gen.ids.next(ProcedurePlan),
        "referral_id": referral["id"],
        "technique_id": gen.techniques[technique_code].id,
        "target": TARGETS.get(technique_code, "Target named at the meeting"),
        "side": referral["pain_side"],
        "guidance": [
            rng.choice([Guidance.ULTRASOUND.name, Guidance.CT.name, Guidance.FLUOROSCOPY.name])
        ],
        "anaesthesia": Anaesthesia.LOCAL if rng.random() < 0.8 else Anaesthesia.SEDATION,
        "care_setting": CareSetting.AMBULATORY,
        "anaesthetist_needed": False,
        "priority": PlanPriority.ROUTINE,
        "distance_mm": rng.randint(*low_high) if low_high else None,
    }


def _validated(
    gen: Generator,
    referral: dict[str, Any],
    slot: MeetingSlot,
    item_id: int,
    outcome: Outcome,
    plan: dict[str, Any] | None,
    decided_at: datetime,
) -> dict[str, Any]:
    """The chair validates the decision: only what ``check_validation`` allows."""
    reasons = REASONS.get(outcome, "Refractory pain despite the treatments tried.")
    check_validation(
        outcome=outcome,
        reasons=reasons,
        quorum_met=slot.quorum.is_met,
        plan=_Plan(plan) if plan is not None else None,
        # A held meeting's sheet is signed by its chair (``plan_meetings``).
        attendance_validated=slot.held,
    )
    decision = {
        "id": gen.ids.next(Decision),
        "referral_id": referral["id"],
        "meeting_id": slot.id,
        "agenda_item_id": item_id,
        "status": DecisionStatus.VALIDATED,
        "outcome": outcome,
        "reasons": reasons,
        "follows_guidelines": True,
        "clinical_trial_proposed": False,
        "participants": slot.participants,
        "quorum_met": slot.quorum.is_met,
        "validated_at": decided_at,
        "validated_by_id": slot.chair_id,
        "recorded_by_id": slot.chair_id,
        "created_at": decided_at,
        "version": 2,
    }
    gen.rows.add(Decision.__table__, decision)
    return decision


def record_procedure(
    gen: Generator, referral: dict[str, Any], proposal: Proposal
) -> Performed | None:
    """The procedure, within two months of the decision (unless still to come),
    as ``check_procedure`` accepts it; the case is "treated"."""
    rng = gen.rng
    performed_on = proposal.decided_on + timedelta(days=rng.randint(DAYS_TO_INFORM, 56))
    if performed_on > gen.today:
        return None
    planned = gen.techniques[proposal.technique_code]
    technique, deviation = planned, None
    if rng.random() < 0.04:
        other = "infiltration" if planned.code != "infiltration" else "radiofrequency"
        technique = gen.techniques[other]
        deviation = "Anatomy seen on the day made the planned technique unsafe."
    values: dict[str, Any] = dict.fromkeys(TECHNIQUE_PARAMETERS) | {
        "performed_on": performed_on,
        "technique_id": technique.id,
        "deviation_reason": deviation,
        "distance_mm": proposal.distance,
    }
    if technique.code == "cryoneurolysis":
        values |= {"cryo_cycles": 2, "cryo_freeze_minutes": 3.0, "cryo_probe_temperature_c": -70}
    elif technique.code == "radiofrequency":
        values |= {"rf_temperature_c": 90, "rf_duration_seconds": 90}
    elif technique.code == "botulinum_toxin":
        values |= {"toxin_units": rng.choice((50, 100, 150))}
    elif technique.code == "cementoplasty":
        values |= {"cement_volume_ml": round(rng.uniform(2, 6), 1), "cement_levels": "L2"}
    check_procedure(
        values,
        decided_on=proposal.decided_on,
        today=gen.today,
        planned_technique_id=planned.id,
    )
    _done, not_done = check_prerequisites(
        list(proposal.pending),
        {name: (None, NOT_NEEDED.get(name)) for name in proposal.pending},
        performed_on=performed_on,
        today=gen.today,
        consent_required=True,
    )
    procedure_id = gen.ids.next(Procedure)
    operator = rng.choice(gen.team.radiologists)
    done_at = gen.at(performed_on, 16)
    gen.rows.add(
        Procedure.__table__,
        {
            "id": procedure_id,
            "referral_id": referral["id"],
            "plan_id": proposal.plan_id,
            "immediate_result": "Uneventful.",
            "prerequisites_not_done": not_done,
            "recorded_by_id": operator,
            "created_at": done_at,
            **values,
        },
    )
    gen.rows.add(procedure_operators, {"procedure_id": procedure_id, "user_id": operator})
    gen.procedures += 1
    worst = None
    if rng.random() < 0.06:
        worst = weighted(rng, ((1, 0.65), (2, 0.28), (3, 0.06), (4, 0.01)))
        check_cirse_grade(worst)
        gen.rows.add(
            AdverseEvent.__table__,
            {
                "id": gen.ids.next(AdverseEvent),
                "procedure_id": procedure_id,
                "cirse_grade": worst,
                "description": "Haematoma at the puncture site.",
                "recorded_at": gen.at(performed_on, 17),
            },
        )
    move(gen, referral, CaseStatus.TREATED, done_at)
    return Performed(procedure_id, technique, performed_on, proposal.distance, worst)

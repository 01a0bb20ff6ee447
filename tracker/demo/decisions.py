"""The meeting's discussion of a case, its decision, the procedure plan and the
procedure performed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Technique
from tracker.decisions.models import (
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
from tracker.decisions.rules import TECHNIQUE_PARAMETERS
from tracker.demo.bulk import at, weighted
from tracker.demo.calendar import meeting_after
from tracker.demo.followups import follow_up
from tracker.demo.mix import NERVE_DISTANCES
from tracker.demo.referrals import finish
from tracker.followups.rules import Session
from tracker.meetings.models import AgendaItem, ItemState

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


def discuss(
    gen: Generator,
    referral: dict[str, Any],
    technique_code: str,
    baseline: int,
    sessions: list[Session],
) -> tuple[int, date, int] | None:
    """The case on a meeting's agenda and what was decided; the next episode's
    referral, if any."""
    rng = gen.rng
    referral_id = referral["id"]
    referrer = referral["referrer_id"]
    created_at = referral["created_at"]
    slot = meeting_after(gen, referral["referral_on"] + timedelta(days=rng.randint(2, 20)))
    if slot is None:
        return finish(gen, referral, CaseStatus.REFERRED, created_at)
    item_id = gen.ids.next(AgendaItem)
    slot.items += 1
    presenter = rng.choice(gen.team.radiologists)
    item = {
        "id": item_id,
        "meeting_id": slot.id,
        "referral_id": referral_id,
        "position": slot.items,
        "presenter_id": presenter,
        "minutes": 10,
        "state": ItemState.DISCUSSED if slot.held else ItemState.PENDING,
        "created_at": created_at,
        "state_changed_at": slot.starts_at if slot.held else None,
    }
    gen.rows.add(AgendaItem.__table__, item)
    if not slot.held:
        return finish(gen, referral, CaseStatus.SCHEDULED, created_at)

    outcome = weighted(
        rng,
        (
            (Outcome.PROCEDURE_PROPOSED, 0.78),
            (Outcome.MEDICAL_TREATMENT, 0.09),
            (Outcome.FURTHER_INVESTIGATION, 0.05),
            (Outcome.NOT_INDICATED, 0.04),
            (Outcome.REFERRAL_ELSEWHERE, 0.04),
        ),
    )
    decided_at = slot.starts_at + timedelta(minutes=30)
    answer = None
    if outcome is Outcome.PROCEDURE_PROPOSED:
        answer = weighted(
            rng,
            (
                (PatientAnswer.ACCEPTS, 0.93),
                (PatientAnswer.REFUSES, 0.05),
                (PatientAnswer.WANTS_TIME, 0.02),
            ),
        )
    decision_id = gen.ids.next(Decision)
    gen.rows.add(
        Decision.__table__,
        {
            "id": decision_id,
            "referral_id": referral_id,
            "meeting_id": slot.id,
            "agenda_item_id": item_id,
            "status": DecisionStatus.VALIDATED,
            "outcome": outcome,
            "reasons": "Refractory pain despite the treatments tried.",
            "follows_guidelines": True,
            "clinical_trial_proposed": False,
            "participants": slot.participants,
            "quorum_met": slot.quorum_met,
            "validated_at": decided_at,
            "validated_by_id": slot.chair_id,
            "recorded_by_id": slot.chair_id,
            "created_at": decided_at,
            "informed_on": slot.day + timedelta(days=7) if answer else None,
            "informed_by_id": referrer if answer else None,
            "patient_answer": answer,
            "version": 2,
        },
    )
    if outcome is not Outcome.PROCEDURE_PROPOSED or answer is not PatientAnswer.ACCEPTS:
        return finish(gen, referral, CaseStatus.CLOSED, decided_at)

    technique = gen.techniques[technique_code]
    low_high = NERVE_DISTANCES.get(technique_code)
    distance = rng.randint(*low_high) if low_high else None
    plan_id = gen.ids.next(ProcedurePlan)
    gen.rows.add(
        ProcedurePlan.__table__,
        {
            "id": plan_id,
            "decision_id": decision_id,
            "referral_id": referral_id,
            "technique_id": technique.id,
            "side": referral["pain_side"],
            "guidance": [
                rng.choice([Guidance.ULTRASOUND.name, Guidance.CT.name, Guidance.FLUOROSCOPY.name])
            ],
            "anaesthesia": Anaesthesia.LOCAL if rng.random() < 0.8 else Anaesthesia.SEDATION,
            "care_setting": CareSetting.AMBULATORY,
            "anaesthetist_needed": False,
            "priority": PlanPriority.ROUTINE,
            "distance_mm": distance,
            "consent_on": slot.day + timedelta(days=7),
        },
    )
    performed_on = slot.day + timedelta(days=rng.randint(7, 56))
    if performed_on > gen.today:
        return finish(gen, referral, CaseStatus.PLANNED, decided_at)
    used = technique
    deviation = None
    if rng.random() < 0.04:
        used = gen.techniques[
            "infiltration" if technique_code != "infiltration" else "radiofrequency"
        ]
        deviation = "Anatomy seen on the day made the planned technique unsafe."
    return record_procedure(
        gen, referral, plan_id, used, performed_on, distance, deviation, baseline, sessions
    )


def record_procedure(
    gen: Generator,
    referral: dict[str, Any],
    plan_id: int,
    technique: Technique,
    performed_on: date,
    distance: int | None,
    deviation: str | None,
    baseline: int,
    sessions: list[Session],
) -> tuple[int, date, int] | None:
    rng = gen.rng
    referral_id = referral["id"]
    procedure_id = gen.ids.next(Procedure)
    operator = rng.choice(gen.team.radiologists)
    params: dict[str, Any] = dict.fromkeys(TECHNIQUE_PARAMETERS)
    if technique.code == "cryoneurolysis":
        params |= {
            "cryo_cycles": 2,
            "cryo_freeze_minutes": 3.0,
            "cryo_probe_temperature_c": -70,
        }
    elif technique.code == "radiofrequency":
        params |= {"rf_temperature_c": 90, "rf_duration_seconds": 90}
    elif technique.code == "botulinum_toxin":
        params |= {"toxin_units": rng.choice((50, 100, 150))}
    elif technique.code == "cementoplasty":
        params |= {"cement_volume_ml": round(rng.uniform(2, 6), 1), "cement_levels": "L2"}
    gen.rows.add(
        Procedure.__table__,
        {
            "id": procedure_id,
            "referral_id": referral_id,
            "plan_id": plan_id,
            "performed_on": performed_on,
            "technique_id": technique.id,
            "deviation_reason": deviation,
            "distance_mm": distance,
            "immediate_result": "Uneventful.",
            "recorded_by_id": operator,
            "created_at": at(performed_on, 16),
            **params,
        },
    )
    gen.rows.add(procedure_operators, {"procedure_id": procedure_id, "user_id": operator})
    gen.procedures += 1
    worst = None
    if rng.random() < 0.06:
        worst = weighted(rng, ((1, 0.65), (2, 0.28), (3, 0.06), (4, 0.01)))
        gen.rows.add(
            AdverseEvent.__table__,
            {
                "id": gen.ids.next(AdverseEvent),
                "procedure_id": procedure_id,
                "cirse_grade": worst,
                "description": "Haematoma at the puncture site.",
                "recorded_at": at(performed_on, 17),
            },
        )
    return follow_up(
        gen, referral, procedure_id, technique, performed_on, distance, worst, baseline, sessions
    )

"""Referrals: each case's sheet, its number and its timeline of status moves."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tracker.cases.models import (
    Anticoagulation,
    CaseEvent,
    CaseEventKind,
    Mechanism,
    PainSide,
    Referral,
    TreatmentTried,
    Urgency,
)
from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Indication
from tracker.demo.bulk import at, weighted
from tracker.demo.people import draw_patient
from tracker.meetings.models import AgendaItem, ItemState

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


def case_number(gen: Generator, day: date) -> str:
    gen.numbers[day.year] += 1
    return f"RCP-{day.year}-{gen.numbers[day.year]:04d}"


def draw_referral(
    gen: Generator,
    patient_id: int,
    indication: Indication,
    technique_code: str,
    referral_on: date,
    baseline: int,
    previous: int | None,
) -> dict[str, Any]:
    """A referral sheet as the referrer filled it in (queued), and its first event."""
    rng = gen.rng
    referral_id = gen.ids.next(Referral)
    referrer = rng.choice(gen.team.referrers)
    created_at = at(referral_on, 9)
    referral = {
        "id": referral_id,
        "case_number": case_number(gen, referral_on),
        "patient_id": patient_id,
        "status": CaseStatus.REFERRED,
        "version": 1,
        "referrer_id": referrer,
        "external_referrer": None,
        "referral_on": referral_on,
        "urgency": Urgency.URGENT if rng.random() < 0.06 else Urgency.ROUTINE,
        "indication_id": indication.id,
        "pain_site": indication.name_en[:200],
        "pain_side": rng.choice(list(PainSide)),
        "mechanism": rng.choice(list(Mechanism)),
        "pain_duration_months": rng.randint(3, 60),
        "nrs_now": min(10, baseline + rng.randint(-1, 1)),
        "nrs_average": baseline,
        "nrs_worst": min(10, baseline + rng.randint(1, 2)),
        "dn4": rng.randint(0, 10),
        "treatments_tried": [
            member.name for member in rng.sample(list(TreatmentTried), rng.randint(1, 3))
        ],
        "anticoagulation": weighted(
            rng,
            (
                (Anticoagulation.NONE, 0.8),
                (Anticoagulation.ANTIPLATELET, 0.15),
                (Anticoagulation.ANTICOAGULANT, 0.05),
            ),
        ),
        "allergies": "None known",
        "is_oncology": indication.code == "bone_metastasis",
        "has_bone_metastases": indication.code == "bone_metastasis",
        "question": f"{gen.techniques[technique_code].name_en}?",
        "patient_agreed_on": referral_on,
        "previous_referral_id": previous,
        "recurrence_reason": "Pain back after regrowth" if previous else None,
        "created_at": created_at,
        "created_by_id": referrer,
    }
    gen.rows.add(Referral.__table__, referral)
    event(gen, referral_id, created_at, CaseEventKind.CREATED, None, CaseStatus.DRAFT)

    return referral


def finish(gen: Generator, referral: dict[str, Any], status: CaseStatus, when: datetime) -> None:
    referral["status"] = status
    if status is not CaseStatus.DRAFT:
        event(gen, referral["id"], when, CaseEventKind.STATUS_CHANGED, CaseStatus.DRAFT, status)
    return None


def event(
    gen: Generator,
    referral_id: int,
    when: datetime,
    kind: CaseEventKind,
    before: CaseStatus | None,
    after: CaseStatus,
) -> None:
    gen.rows.add(
        CaseEvent.__table__,
        {
            "id": gen.ids.next(CaseEvent),
            "referral_id": referral_id,
            "occurred_at": when,
            "kind": kind,
            "from_status": before,
            "to_status": after,
            "actor_id": None,
        },
    )


def fill_next_meeting(generator: Generator, cases: int) -> None:
    """The next meeting gets up to 30 cases: a full agenda to try the meeting page on."""
    upcoming = next((slot for slot in generator.meetings if not slot.held), None)
    if upcoming is None:
        return
    team = generator.team
    rng = generator.rng
    while upcoming.items < 30 and generator.made < cases:
        patient_id = draw_patient(generator)
        referral_on = generator.today - timedelta(days=rng.randint(3, 20))
        generator.made += 1
        referral_id = generator.ids.next(Referral)
        referrer = rng.choice(team.referrers)
        created_at = at(referral_on, 9)
        indication = generator.mix[0][0]
        generator.rows.add(
            Referral.__table__,
            {
                "id": referral_id,
                "case_number": case_number(generator, referral_on),
                "patient_id": patient_id,
                "status": CaseStatus.SCHEDULED,
                "version": 1,
                "referrer_id": referrer,
                "referral_on": referral_on,
                "urgency": Urgency.ROUTINE,
                "indication_id": indication.id,
                "pain_site": indication.name_en[:200],
                "pain_side": PainSide.LEFT,
                "mechanism": Mechanism.NEUROPATHIC,
                "pain_duration_months": 12,
                "nrs_now": 7,
                "nrs_average": 7,
                "nrs_worst": 9,
                "dn4": 5,
                "treatments_tried": [TreatmentTried.NON_OPIOID_ANALGESICS.name],
                "anticoagulation": Anticoagulation.NONE,
                "allergies": "None known",
                "is_oncology": False,
                "has_bone_metastases": False,
                "question": "Cryoneurolysis?",
                "patient_agreed_on": referral_on,
                "created_at": created_at,
                "created_by_id": referrer,
            },
        )
        upcoming.items += 1
        generator.rows.add(
            AgendaItem.__table__,
            {
                "id": generator.ids.next(AgendaItem),
                "meeting_id": upcoming.id,
                "referral_id": referral_id,
                "position": upcoming.items,
                "presenter_id": rng.choice(team.radiologists),
                "minutes": 4,
                "state": ItemState.PENDING,
                "created_at": created_at,
            },
        )

"""Referrals: each case's sheet, its number and its timeline of status moves."""

from __future__ import annotations

from datetime import date, datetime
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
from tracker.cases.rules import (
    CaseStatus,
    case_number,
    check_transition,
    missing_fields,
    status_after_edit,
)
from tracker.catalogue.models import Indication
from tracker.demo.bulk import weighted

if TYPE_CHECKING:
    from tracker.demo.synthetic import Generator


class _Sheet:
    """A queued referral row read as the rules read a referral (attributes)."""

    __slots__ = ("row",)

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def __getattr__(self, name: str) -> Any:
        return self.row.get(name)


def next_case_number(gen: Generator, day: date) -> str:
    """One counter per year, as ``cases.services.next_case_number`` keeps it."""
    gen.numbers[day.year] += 1
    return case_number(day.year, gen.numbers[day.year])


def draw_referral(
    gen: Generator,
    patient_id: int,
    indication: Indication,
    technique_code: str,
    referral_on: date,
    baseline: int,
    previous: int | None,
    *,
    complete: bool = True,
) -> dict[str, Any]:
    """A referral sheet as the referrer filled it in (queued), registered as
    ``refer_case`` does: a draft, "referred" at once if complete. An incomplete
    sheet waits for the patient's agreement to the case being presented."""
    rng = gen.rng
    referral_id = gen.ids.next(Referral)
    referrer = rng.choice(gen.team.referrers)
    created_at = gen.at(referral_on, 9)
    referral = {
        "id": referral_id,
        "case_number": next_case_number(gen, referral_on),
        "patient_id": patient_id,
        "status": CaseStatus.DRAFT,
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
        "patient_agreed_on": referral_on if complete else None,
        "previous_referral_id": previous,
        "recurrence_reason": "Pain back after regrowth" if previous else None,
        "created_at": created_at,
        "created_by_id": referrer,
    }
    gen.rows.add(Referral.__table__, referral)
    event(gen, referral_id, created_at, CaseEventKind.CREATED, None, CaseStatus.DRAFT)
    settled = status_after_edit(CaseStatus.DRAFT, not missing_fields(_Sheet(referral)))
    if settled is not CaseStatus.DRAFT:
        move(gen, referral, settled, created_at)
    return referral


def move(
    gen: Generator,
    referral: dict[str, Any],
    status: CaseStatus,
    when: datetime,
    note: str | None = None,
) -> None:
    """Move the case if the transition table allows it (raises otherwise), with
    the line on its timeline that ``cases.services.change_status`` writes."""
    previous = referral["status"]
    check_transition(previous, status)
    referral["status"] = status
    event(gen, referral["id"], when, CaseEventKind.STATUS_CHANGED, previous, status, note)


def withdraw(gen: Generator, referral: dict[str, Any], reason: str, when: datetime) -> None:
    move(gen, referral, CaseStatus.WITHDRAWN, when, note=reason)
    referral["withdrawn_reason"] = reason


def event(
    gen: Generator,
    referral_id: int,
    when: datetime,
    kind: CaseEventKind,
    before: CaseStatus | None,
    after: CaseStatus,
    note: str | None = None,
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
            "note": note,
            "actor_id": None,
        },
    )

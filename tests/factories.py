"""Factories: valid objects in one call, built through the services (and so audited)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.core.permissions import Role
from tracker.core.specialties import Specialty
from tracker.extensions import db

PASSWORD = "a long enough test password"

_sequence = itertools.count(1)


def make_user(
    *,
    roles: Iterable[Role] = (Role.CLINICIAN,),
    email: str | None = None,
    full_name: str | None = None,
    specialty: Specialty = Specialty.PAIN_MEDICINE,
    password: str = PASSWORD,
    is_active: bool = True,
    **extra: Any,
) -> User:
    number = next(_sequence)
    user = auth_services.create_user(
        email=email or f"user{number}@hospital.test",
        full_name=full_name or f"Test User {number}",
        specialty=specialty,
        roles=set(roles),
        password=password,
    )
    user.is_active = is_active
    for key, value in extra.items():
        setattr(user, key, value)
    db.session.commit()
    return user


def first_indication(code: str = "morton_neuroma") -> Any:
    from sqlalchemy import select

    from tracker.catalogue.models import Indication

    return db.session.scalar(select(Indication).where(Indication.code == code))


def referral_details(**overrides: Any) -> dict[str, Any]:
    """A complete referral sheet: a neuroma of the foot, as referred in practice."""
    from datetime import date

    from tracker.cases.models import Anticoagulation, Mechanism, PainSide, Urgency

    if "referrer_id" not in overrides:
        overrides["referrer_id"] = make_user(
            roles={Role.RADIOLOGIST}, specialty=Specialty.INTERVENTIONAL_RADIOLOGY
        ).id
    details = {
        "referral_on": date(2026, 11, 2),
        "urgency": Urgency.ROUTINE,
        "indication_id": first_indication().id,
        "pain_site": "Left foot, third web space",
        "pain_side": PainSide.LEFT,
        "mechanism": Mechanism.NEUROPATHIC,
        "pain_duration_months": 18,
        "nrs_now": 7,
        "nrs_average": 6,
        "nrs_worst": 9,
        "dn4": 6,
        "treatments_tried": ["NON_OPIOID_ANALGESICS", "INFILTRATIONS"],
        "treatments_other": "Two steroid injections, relief for three weeks each.",
        "anticoagulation": Anticoagulation.NONE,
        "allergies": "None known",
        "imaging": "Ultrasound 2026-10: 8 mm neuroma, third web space.",
        "question": "Cryoneurolysis of the neuroma?",
        "patient_agreed_on": date(2026, 11, 2),
    }
    details.update(overrides)
    return details


def make_patient(**overrides: Any) -> Any:
    from datetime import date

    from tracker.cases import services
    from tracker.cases.models import Sex

    number = next(_sequence)
    identity = {
        "mrn": f"MRN{number:06d}",
        "last_name": "Dupont",
        "first_name": f"Jeanne{number}",
        "birth_on": date(1961, 4, 12),
        "sex": Sex.FEMALE,
    }
    identity.update(overrides)
    patient = services.patient_for_referral(services.PatientIdentity(**identity))
    db.session.commit()
    return patient


def make_referral(*, patient: Any = None, by: User | None = None, **overrides: Any) -> Any:
    """A complete referral (status "referred"); pass fields as None to leave them empty."""
    from tracker.cases import services

    patient = patient or make_patient()
    details = referral_details(**overrides)
    if by is None:
        by = db.session.get(User, details["referrer_id"]) if details["referrer_id"] else None
        by = by or make_user(roles={Role.COORDINATOR})
    referral = services.refer_case(patient, details, by=by)
    db.session.commit()
    return referral


def make_meeting(*, starts_at: Any = None, **overrides: Any) -> Any:
    """A planned meeting, by default next Tuesday (24 Nov 2026) 17:00-18:30 in Paris."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tracker.meetings import services as meeting_services

    values = {
        "starts_at": starts_at or datetime(2026, 11, 24, 17, 0, tzinfo=ZoneInfo("Europe/Paris")),
        "duration_minutes": 90,
        "capacity": 12,
        "place": "Salle de staff, imagerie, niveau 2",
    }
    values.update(overrides)
    meeting = meeting_services.create_meeting(meeting_services.MeetingDetails(**values))
    db.session.commit()
    return meeting


def radiologist(**overrides: Any) -> User:
    overrides.setdefault("specialty", Specialty.INTERVENTIONAL_RADIOLOGY)
    return make_user(roles={Role.RADIOLOGIST}, **overrides)


def running_meeting(cases: int = 1, *, chair: User | None = None, **overrides: Any) -> Any:
    """A started meeting with a quorum (three specialties) and ``cases`` on its agenda."""
    from tracker.meetings import services as meeting_services

    chair = chair or radiologist(full_name="Dr Julien Moreau")
    meeting = make_meeting(chair_id=chair.id, **overrides)
    present = [
        chair,
        make_user(specialty=Specialty.ANAESTHESIOLOGY, full_name="Dr Karim Haddad"),
        make_user(specialty=Specialty.PAIN_MEDICINE, full_name="Dr Amélie Laurent"),
    ]
    meeting_services.set_members_present(meeting, {user.id for user in present})
    for _ in range(cases):
        meeting_services.add_to_agenda(meeting, make_referral(referrer_id=chair.id), by=None)
    meeting_services.start_meeting(meeting)
    db.session.commit()
    return meeting


def technique(code: str = "cryoneurolysis") -> Any:
    from sqlalchemy import select

    from tracker.catalogue.models import Technique

    return db.session.scalar(select(Technique).where(Technique.code == code))


def plan_values(**overrides: Any) -> dict[str, Any]:
    from tracker.cases.models import PainSide
    from tracker.decisions.models import Anaesthesia, CareSetting

    values = {
        "technique_id": technique().id,
        "target": "Third common digital nerve (Morton's neuroma)",
        "side": PainSide.LEFT,
        "guidance": ["ULTRASOUND"],
        "anaesthesia": Anaesthesia.LOCAL,
        "care_setting": CareSetting.AMBULATORY,
        "distance_mm": 60,
    }
    values.update(overrides)
    return values


def make_decision(
    item: Any = None, *, validate: bool = True, outcome: Any = None, plan: Any = ..., **values: Any
) -> Any:
    """A decision for an agenda line of a running meeting (validated by its chair)."""
    from tracker.decisions import services as decision_services
    from tracker.decisions.models import Outcome

    if item is None:
        item = running_meeting().agenda[0]
    outcome = outcome or Outcome.PROCEDURE_PROPOSED
    if plan is ...:
        plan = plan_values() if outcome is Outcome.PROCEDURE_PROPOSED else None
    fields = {"outcome": outcome, "reasons": "Refractory neuroma pain after two injections."}
    fields.update(values)
    chair = db.session.get(User, item.meeting.chair_id)
    decision = decision_services.save_draft(item, fields, plan, by=chair)
    if validate:
        decision_services.validate(decision, by=chair)
    db.session.commit()
    return decision

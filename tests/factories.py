"""Factories: valid objects in one call, built through the services (and so audited)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.core.specialties import Specialty
from tracker.extensions import db
from tracker.web.permissions import Role

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


def contact_values(**overrides: Any) -> dict[str, Any]:
    """A patient's contact details as the contact form sends them to the service."""
    values: dict[str, Any] = {
        "phone_1": "06 12 34 56 78",
        "phone_2": None,
        "email": None,
        "preferred_language": None,
        "preferred_channel": None,
        "contact_consent": True,
    }
    values.update(overrides)
    return values


def give_contact(patient: Any, *, by: User | None = None, **overrides: Any) -> Any:
    """Record the patient's contact details (a mobile and consent, by default)."""
    from tracker.cases import services

    services.update_contact(
        patient, contact_values(**overrides), by=by or make_user(roles={Role.COORDINATOR})
    )
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


#: Why a test meeting starts before its day.
EARLY = "Started ahead of its day for the test"


def running_meeting(
    cases: int = 1, *, chair: User | None = None, sign_attendance: bool = True, **overrides: Any
) -> Any:
    """A started meeting with a quorum (three specialties), its attendance sheet
    signed by the chair (unless ``sign_attendance`` is false), and ``cases`` on
    its agenda."""
    from tracker.meetings import services as meeting_services

    chair = chair or radiologist(full_name="Dr Julien Moreau")
    meeting = make_meeting(chair_id=chair.id, **overrides)
    present = [
        chair,
        make_user(specialty=Specialty.ANAESTHESIOLOGY, full_name="Dr Karim Haddad"),
        make_user(specialty=Specialty.PAIN_MEDICINE, full_name="Dr Amélie Laurent"),
    ]
    meeting_services.set_members_present(meeting, {user.id for user in present}, by=None)
    for _ in range(cases):
        meeting_services.add_to_agenda(meeting, make_referral(referrer_id=chair.id), by=None)
    # Meetings are made for next Tuesday: started today, so in advance.
    meeting_services.start_meeting(meeting, by=None, early_reason=EARLY)
    if sign_attendance:
        meeting_services.validate_attendance(meeting, by=chair)
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


def all_done(on: Any) -> dict[str, Any]:
    """Each prerequisite of a plan done on ``on``, as the procedure form says it."""
    from tracker.decisions.models import PREREQUISITES

    return {name: (on, None) for name, _label in PREREQUISITES}


def make_procedure(
    *,
    technique_code: str = "cryoneurolysis",
    performed_on: Any = None,
    distance_mm: int | None = 60,
    referral: Any = None,
    referral_values: dict[str, Any] | None = None,
    adverse_event: dict[str, Any] | None = None,
    followup_owner: Any = None,
    **procedure_values: Any,
) -> Any:
    """A case treated in the past, recorded step by step as it happened: referral,
    meeting on 2 June 2026, decision, then the procedure (16 June by default).

    Each step runs on the clock of its day; the test's own clock is untouched.
    """
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from tracker.core.time import frozen_clock
    from tracker.decisions import services as decision_services
    from tracker.meetings import services as meeting_services

    paris = ZoneInfo("Europe/Paris")
    performed_on = performed_on or date(2026, 6, 16)
    meeting_day = performed_on - timedelta(days=14)
    with frozen_clock(datetime.combine(meeting_day - timedelta(days=7), time(9), tzinfo=paris)):
        chair = radiologist()
        if referral is None:
            referred_on = meeting_day - timedelta(days=7)
            referral = make_referral(
                referrer_id=chair.id,
                referral_on=referred_on,
                patient_agreed_on=referred_on,
                **(referral_values or {}),
            )
        meeting = make_meeting(
            starts_at=datetime.combine(meeting_day, time(17), tzinfo=paris), chair_id=chair.id
        )
        present = [
            chair,
            make_user(specialty=Specialty.ANAESTHESIOLOGY),
            make_user(specialty=Specialty.PAIN_MEDICINE),
        ]
        meeting_services.set_members_present(meeting, {user.id for user in present}, by=None)
        item = meeting_services.add_to_agenda(meeting, referral, by=None)
        db.session.commit()
    with frozen_clock(datetime.combine(meeting_day, time(17, 30), tzinfo=paris)):
        meeting_services.start_meeting(meeting, by=None)
        meeting_services.validate_attendance(meeting, by=chair)
        decision = make_decision(
            item,
            plan=plan_values(technique_id=technique(technique_code).id, distance_mm=distance_mm),
        )
    with frozen_clock(datetime.combine(performed_on, time(15), tzinfo=paris)):
        procedure = decision_services.record_procedure(
            decision.plan,
            {
                "performed_on": performed_on,
                "technique_id": decision.plan.technique_id,
                "distance_mm": distance_mm,
                **procedure_values,
            },
            operator_ids=[chair.id],
            adverse_event=adverse_event,
            prerequisites=all_done(performed_on),
            by=chair,
            **({"followup_owner_id": followup_owner.id} if followup_owner else {}),
        )
        db.session.commit()
    return procedure


def assessment_values(**overrides: Any) -> dict[str, Any]:
    from datetime import date

    from tracker.followups.models import AssessmentMode

    values = {"assessed_on": date(2026, 6, 23), "mode": AssessmentMode.PHONE, "nrs_average": 3}
    values.update(overrides)
    return values


def assess(procedure: Any, *, followup: Any = None, **overrides: Any) -> Any:
    from tracker.followups import services as followup_services

    referral = db.session.get(type(procedure.referral), procedure.referral_id)
    assessment = followup_services.log_assessment(
        referral,
        assessment_values(**overrides),
        by=make_user(roles={Role.CLINICIAN}),
        followup=followup,
    )
    db.session.commit()
    return assessment


def make_invitation(
    *,
    performed_on: Any = None,
    followup_owner: Any = None,
    channel: str = "EMAIL",
    referral_values: dict[str, Any] | None = None,
) -> Any:
    """A patient who agreed to be contacted by e-mail (or ``channel``), treated on
    ``performed_on`` (14 November 2026 by default: week 1's window is open on the
    tests' day), invited now to answer week 1's questionnaire."""
    from datetime import date

    from sqlalchemy import select

    from tracker.core.time import utcnow
    from tracker.followups.models import FollowUp
    from tracker.selfreport import services as selfreport_services

    procedure = make_procedure(
        performed_on=performed_on or date(2026, 11, 14),
        followup_owner=followup_owner,
        referral_values=referral_values,
    )
    give_contact(
        procedure.referral.patient,
        email="patient@example.org",
        preferred_channel=channel,
        preferred_language="EN",
    )
    week1 = db.session.scalars(
        select(FollowUp).where(FollowUp.procedure_id == procedure.id).order_by(FollowUp.due_on)
    ).first()
    invitation = selfreport_services.invite(week1, utcnow())
    assert invitation is not None, "the patient could not be invited"
    db.session.commit()
    return invitation

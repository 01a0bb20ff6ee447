"""Demonstration data: a small team so that a new installation can be tried at once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.cases import services as case_services
from tracker.cases.contact import ContactChannel, ContactLanguage
from tracker.cases.models import (
    Anticoagulation,
    Mechanism,
    PainSide,
    Referral,
    Sex,
    TreatmentTried,
    Urgency,
)
from tracker.catalogue.models import Indication, Technique
from tracker.core.address import FormOfAddress
from tracker.core.specialties import Specialty
from tracker.core.time import frozen_clock, local_today, site_timezone, utcnow
from tracker.decisions import services as decision_services
from tracker.decisions.models import Outcome, Procedure
from tracker.demo.phones import FICTIONAL_BLOCKS, fictional_phone
from tracker.extensions import db
from tracker.followups import services as followup_services
from tracker.followups.models import AssessmentMode, FollowUp
from tracker.meetings import services as meeting_services
from tracker.outcomes.evidence import refresh as refresh_evidence
from tracker.selfreport import services as selfreport_services
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import LIVE
from tracker.selfreport.tasks import invite_patients
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    specialty: Specialty
    roles: frozenset[Role]
    #: As the person would state it (the demo's names are plainly one or the other).
    form_of_address: FormOfAddress


DEMO_ACCOUNTS = (
    DemoAccount(
        "admin@example.org",
        "Claire Martin",
        Specialty.OTHER,
        frozenset({Role.ADMIN}),
        FormOfAddress.FEMININE,
    ),
    DemoAccount(
        "coordinator@example.org",
        "Sophie Bernard",
        Specialty.OTHER,
        frozenset({Role.COORDINATOR}),
        FormOfAddress.FEMININE,
    ),
    DemoAccount(
        "radiologist@example.org",
        "Dr Julien Moreau",
        Specialty.INTERVENTIONAL_RADIOLOGY,
        frozenset({Role.RADIOLOGIST}),
        FormOfAddress.MASCULINE,
    ),
    DemoAccount(
        "clinician@example.org",
        "Dr Amélie Laurent",
        Specialty.PAIN_MEDICINE,
        frozenset({Role.CLINICIAN}),
        FormOfAddress.FEMININE,
    ),
    DemoAccount(
        "anaesthetist@example.org",
        "Dr Karim Haddad",
        Specialty.ANAESTHESIOLOGY,
        frozenset({Role.CLINICIAN}),
        FormOfAddress.MASCULINE,
    ),
)


def database_has_accounts() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def seed_demo(password: str) -> list[DemoAccount]:
    """Create the demo team and a few cases (the caller commits)."""
    users = {}
    for account in DEMO_ACCOUNTS:
        users[account.email] = auth_services.create_user(
            email=account.email,
            full_name=account.full_name,
            specialty=account.specialty,
            roles=account.roles,
            password=password,
            form_of_address=account.form_of_address,
        )
    _seed_history(users)
    referrals = _seed_cases(users)
    _seed_meetings(users, referrals)
    # As after the first morning's job: meeting mode shows the unit's results.
    refresh_evidence(utcnow())
    logger.info("Seeded %d demo accounts", len(DEMO_ACCOUNTS))
    return list(DEMO_ACCOUNTS)


def _indication(code: str) -> Indication:
    return db.session.scalar(select(Indication).where(Indication.code == code))


def _seed_cases(users: dict[str, User]) -> list[Referral]:
    """Cases as a pain unit receives them: some complete, some still drafts."""
    radiologist = users["radiologist@example.org"]
    clinician = users["clinician@example.org"]
    today = local_today()
    common = {
        "anticoagulation": Anticoagulation.NONE,
        "allergies": "None known",
        "urgency": Urgency.ROUTINE,
    }
    cases = [
        (
            ("80012345", "Lefèvre", "Éloïse", date(1958, 2, 3), Sex.FEMALE),
            radiologist,
            {
                "indication": "morton_neuroma",
                "pain_site": "Left foot, third web space",
                "pain_side": PainSide.LEFT,
                "mechanism": Mechanism.NEUROPATHIC,
                "pain_duration_months": 18,
                "nrs": (7, 6, 9),
                "dn4": 6,
                "treatments_tried": [
                    TreatmentTried.NON_OPIOID_ANALGESICS,
                    TreatmentTried.INFILTRATIONS,
                ],
                "treatments_other": "Two steroid injections, relief for three weeks each.",
                "imaging": "Ultrasound: 8 mm neuroma of the third web space.",
                "question": "Ultrasound-guided cryoneurolysis of the neuroma?",
                "days_ago": 12,
            },
        ),
        (
            ("80023456", "Moreau", "Patrick", date(1966, 9, 21), Sex.MALE),
            clinician,
            {
                "indication": "pelvic_neuralgia",
                "pain_site": "Perineum, right pudendal territory",
                "pain_side": PainSide.RIGHT,
                "mechanism": Mechanism.NEUROPATHIC,
                "pain_duration_months": 30,
                "nrs": (8, 7, 10),
                "dn4": 7,
                "treatments_tried": [
                    TreatmentTried.NEUROPATHIC_DRUGS,
                    TreatmentTried.INFILTRATIONS,
                    TreatmentTried.PHYSIOTHERAPY,
                ],
                "treatments_other": "Pregabalin 300 mg/day, two CT-guided pudendal blocks.",
                "imaging": "Pelvic MRI without compressive lesion.",
                "question": "Pulsed radiofrequency of the right pudendal nerve?",
                "urgency": Urgency.URGENT,
                "days_ago": 5,
            },
        ),
        (
            ("80034567", "Bernard", "Lucienne", date(1949, 12, 8), Sex.FEMALE),
            radiologist,
            {
                "indication": "bone_metastasis",
                "pain_site": "Right iliac wing",
                "pain_side": PainSide.RIGHT,
                "mechanism": Mechanism.MIXED,
                "pain_duration_months": 3,
                "nrs": (6, 6, 9),
                "treatments_tried": [TreatmentTried.STRONG_OPIOIDS, TreatmentTried.RADIOTHERAPY],
                "is_oncology": True,
                "primary_tumour": "Breast carcinoma",
                "has_bone_metastases": True,
                "imaging": "CT: osteolytic lesion of the right iliac wing, 4 cm.",
                "question": "Cementoplasty of the iliac lesion?",
                "agreed": False,
                "days_ago": 2,
            },
        ),
        (
            ("80045678", "Garcia", "Manuel", date(1952, 5, 17), Sex.MALE),
            clinician,
            {
                "indication": "limb_osteoarthritis",
                "pain_site": "Left knee",
                "pain_side": PainSide.LEFT,
                "mechanism": Mechanism.NOCICEPTIVE,
                "pain_duration_months": 48,
                "nrs": (6, 5, 8),
                "treatments_tried": [
                    TreatmentTried.NON_OPIOID_ANALGESICS,
                    TreatmentTried.WEAK_OPIOIDS,
                    TreatmentTried.PHYSIOTHERAPY,
                    TreatmentTried.INFILTRATIONS,
                ],
                "imaging": "Radiographs: Kellgren-Lawrence grade 4; surgery declined.",
                "question": "Radiofrequency of the genicular nerves?",
                "days_ago": 20,
            },
        ),
        (
            ("80056789", "Petit", "Nadia", date(1979, 3, 30), Sex.FEMALE),
            clinician,
            {
                "indication": "levator_ani",
                "pain_site": "Pelvic floor",
                "pain_side": PainSide.MIDLINE,
                "mechanism": Mechanism.NOCICEPTIVE,
                "nrs": (7, 6, 8),
                "treatments_tried": [TreatmentTried.PHYSIOTHERAPY],
                "question": "Botulinum toxin injection of the levator ani?",
                "agreed": False,
                "days_ago": 1,
            },
        ),
    ]
    referrals = []
    for (mrn, last, first, birth, sex), referrer, facts in cases:
        patient = case_services.patient_for_referral(
            case_services.PatientIdentity(mrn, last, first, birth, sex)
        )
        referral_on = today - timedelta(days=facts["days_ago"])
        with frozen_clock(_at(referral_on, 9)):
            _record_contact(patient, referrer)
        now, average, worst = facts["nrs"]
        details = {
            **common,
            "referrer_id": referrer.id,
            "referral_on": referral_on,
            "indication_id": _indication(facts["indication"]).id,
            "nrs_now": now,
            "nrs_average": average,
            "nrs_worst": worst,
            "treatments_tried": [item.name for item in facts["treatments_tried"]],
            "patient_agreed_on": referral_on if facts.get("agreed", True) else None,
        }
        for key in (
            "pain_site",
            "pain_side",
            "mechanism",
            "pain_duration_months",
            "dn4",
            "treatments_other",
            "imaging",
            "question",
            "urgency",
            "is_oncology",
            "primary_tumour",
            "has_bone_metastases",
        ):
            if key in facts:
                details[key] = facts[key]
        referrals.append(case_services.refer_case(patient, details, by=referrer))
    return referrals


def _record_contact(patient: Any, by: User, channel: ContactChannel = ContactChannel.PHONE) -> None:
    """A number that rings no one (``tracker.demo.phones``), the patient's own
    and the same from one demo to the next, and their consent; by e-mail, an
    address no message reaches (example.org is reserved for examples)."""
    case_services.update_contact(
        patient,
        {
            "phone_1": fictional_phone(FICTIONAL_BLOCKS[0], patient.mrn[-4:]),
            "phone_2": None,
            "email": f"patient-{patient.mrn}@example.org"
            if channel is ContactChannel.EMAIL
            else None,
            "preferred_language": ContactLanguage.FR,
            "preferred_channel": channel,
            "contact_consent": True,
        },
        by=by,
    )


def _seed_meetings(users: dict[str, User], referrals: list[Referral]) -> None:
    """A weekly Tuesday 17:00 series from next week, two cases on the first agenda."""
    today = local_today()
    days_ahead = (1 - today.weekday()) % 7 or 7
    series = meeting_services.create_series(
        meeting_services.MeetingDetails(
            starts_at=meeting_services.local_start(today + timedelta(days=days_ahead), time(17)),
            duration_minutes=90,
            title=DEMO_TITLE,
            capacity=12,
            place="Salle de staff, imagerie interventionnelle",
            chair_id=users["radiologist@example.org"].id,
            coordinator_id=users["coordinator@example.org"].id,
        ),
        interval_weeks=1,
        count=12,
    )
    first = series.meetings[0]
    for referral in referrals:
        if referral.is_complete and referral.urgency is Urgency.URGENT:
            meeting_services.add_to_agenda(first, referral, by=users["coordinator@example.org"])
    complete = [r for r in referrals if r.is_complete and r.urgency is Urgency.ROUTINE]
    if complete:
        meeting_services.add_to_agenda(first, complete[0], by=users["coordinator@example.org"])


#: The unit's pain RCP: its meetings, past and coming, carry this title.
DEMO_TITLE = "RCP douleur"


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=site_timezone())


@dataclass(frozen=True)
class _Story:
    identity: tuple[Any, ...]
    indication: str
    technique: str
    site: str
    side: PainSide
    nrs: tuple[int, int, int]
    target: str
    distance_mm: int | None
    parameters: dict[str, Any]
    referred_days_ago: int
    #: (days after the procedure, average pain, "the pain is back", answered
    #: by the patient online rather than on the phone)
    follow_up: tuple[tuple[int, int, bool, bool], ...]
    #: How the patient prefers to be contacted: by e-mail, they are invited to
    #: answer each time point online when its window opens.
    channel: ContactChannel = ContactChannel.PHONE
    #: Days after the procedure when the patient opened their latest link
    #: without answering (yet).
    opened_on: tuple[int, ...] = ()
    guidance: tuple[str, ...] = ("ULTRASOUND",)


HISTORY = (
    # A neuroma relieved by cryoneurolysis, then relapsing as the nerve regrows;
    # she answers online, by e-mail, and says so herself at month 6 (her nurse
    # is told at once). Month 1 she did not answer: the nurse phoned.
    _Story(
        ("80067890", "Roux", "Catherine", date(1963, 7, 14), Sex.FEMALE),
        "morton_neuroma",
        "cryoneurolysis",
        "Right foot, second web space",
        PainSide.RIGHT,
        (8, 7, 9),
        "Second common digital nerve (Morton's neuroma)",
        55,
        {"cryo_cycles": 2, "cryo_freeze_minutes": 3.0, "cryo_probe_temperature_c": -70},
        190,
        ((7, 2, False, True), (30, 2, False, False), (91, 3, False, True), (160, 6, True, True)),
        channel=ContactChannel.EMAIL,
    ),
    # A knee still relieved six months after genicular radiofrequency.
    _Story(
        ("80078901", "Lambert", "Georges", date(1947, 1, 29), Sex.MALE),
        "limb_osteoarthritis",
        "radiofrequency",
        "Right knee",
        PainSide.RIGHT,
        (7, 6, 8),
        "Superomedial, superolateral and inferomedial genicular nerves",
        None,
        {"rf_temperature_c": 80, "rf_duration_seconds": 90},
        230,
        (
            (7, 4, False, False),
            (30, 3, False, False),
            (91, 3, False, False),
            (183, 3, False, False),
        ),
    ),
    # Facet joint pain treated four weeks ago: week 1 answered online; month 1's
    # invitation went three days ago, a reminder yesterday, and she has opened it.
    _Story(
        ("80089012", "Fontaine", "Sylvie", date(1957, 10, 5), Sex.FEMALE),
        "spinal_osteoarthritis",
        "radiofrequency",
        "Lower back, L4-L5 and L5-S1 facet joints",
        PainSide.BILATERAL,
        (7, 6, 8),
        "Medial branches of the L3, L4 and L5 dorsal rami, both sides",
        None,
        {"rf_temperature_c": 80, "rf_duration_seconds": 90},
        48,
        ((7, 3, False, True),),
        channel=ContactChannel.EMAIL,
        opened_on=(25,),
        guidance=("FLUOROSCOPY",),
    ),
)


def _seed_history(users: dict[str, User]) -> None:
    """Cases treated months ago, recorded as they happened (the clock is moved
    back for each step), so follow-up and outcomes have something to show.

    Then the days since the first procedure are lived again, one after the
    other: each morning the scheduler's job invites the patients who answer
    online, reminds them and ends their links; the readings of the day follow,
    the patient's own through their link, the others on the phone."""
    today = local_today()
    treated = [(story, _seed_story(story, users, today)) for story in HISTORY]
    planned = {
        procedure.id: {f.offset_days: f for f in followup_services.planned_for(procedure)}
        for _story, procedure in treated
    }
    day = min(procedure.performed_on for _story, procedure in treated)
    while day <= today:
        if day < today:  # today's run has not come yet
            with frozen_clock(_at(day, 10)):
                invite_patients(_at(day, 10))
        for story, procedure in treated:
            days = (day - procedure.performed_on).days
            if days in story.opened_on:
                _patient_opens(planned[procedure.id].values(), day)
            for on, nrs, pain_is_back, online in story.follow_up:
                if on == days:
                    values = {"nrs_average": nrs, "nrs_now": nrs, "pain_is_back": pain_is_back}
                    if online:
                        _patient_answers(planned[procedure.id].values(), values, day)
                    else:
                        followup = planned[procedure.id].get(on)
                        _nurse_records(procedure, followup, values, day, users)
        day += timedelta(days=1)


def _open_invitation(followups: Iterable[Any], day: date) -> Invitation | None:
    """The patient's open invitation whose time point's window holds ``day``
    (the first due, when two windows overlap)."""
    return db.session.scalar(
        select(Invitation)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .where(
            Invitation.followup_id.in_([followup.id for followup in followups]),
            Invitation.status.in_(LIVE),
            FollowUp.window_start_on <= day,
            FollowUp.window_end_on >= day,
        )
        .order_by(FollowUp.due_on)
        .limit(1)
    )


def _patient_answers(followups: Iterable[Any], values: dict[str, Any], day: date) -> None:
    """The patient answers the questionnaire of their open invitation, in the evening."""
    moment = _at(day, 19)
    with frozen_clock(moment):
        invitation = _open_invitation(followups, day)
        if invitation is None:
            raise RuntimeError(f"demo: nothing to answer online on {day}")
        selfreport_services.opened(invitation, moment)
        selfreport_services.answer(invitation, values, moment)


def _patient_opens(followups: Iterable[Any], day: date) -> None:
    """The patient opens the link of their open invitation, and answers later."""
    moment = _at(day, 20)
    with frozen_clock(moment):
        invitation = _open_invitation(followups, day)
        if invitation is not None:
            selfreport_services.opened(invitation, moment)


def _nurse_records(
    procedure: Procedure, followup: Any, values: dict[str, Any], day: date, users: dict[str, User]
) -> None:
    with frozen_clock(_at(day, 11)):
        followup_services.log_assessment(
            procedure.referral,
            {"assessed_on": day, "mode": AssessmentMode.PHONE, **values},
            by=users["clinician@example.org"],
            followup=followup,
        )


def _seed_story(story: _Story, users: dict[str, User], today: date) -> Procedure:
    radiologist = users["radiologist@example.org"]
    coordinator = users["coordinator@example.org"]
    present = {
        radiologist.id,
        users["clinician@example.org"].id,
        users["anaesthetist@example.org"].id,
    }
    technique = _technique(story.technique)
    referred_on = today - timedelta(days=story.referred_days_ago)
    meeting_day = referred_on + timedelta(days=8)
    with frozen_clock(_at(referred_on, 9)):
        patient = case_services.patient_for_referral(case_services.PatientIdentity(*story.identity))
        _record_contact(patient, radiologist, story.channel)
        referral = case_services.refer_case(
            patient,
            {
                "referrer_id": radiologist.id,
                "referral_on": referred_on,
                "indication_id": _indication(story.indication).id,
                "pain_site": story.site,
                "pain_side": story.side,
                "mechanism": Mechanism.NEUROPATHIC
                if technique.acts_on_nerve and story.technique == "cryoneurolysis"
                else Mechanism.NOCICEPTIVE,
                "pain_duration_months": 24,
                "nrs_now": story.nrs[0],
                "nrs_average": story.nrs[1],
                "nrs_worst": story.nrs[2],
                "treatments_tried": [
                    TreatmentTried.NON_OPIOID_ANALGESICS.name,
                    TreatmentTried.INFILTRATIONS.name,
                ],
                "anticoagulation": Anticoagulation.NONE,
                "allergies": "None known",
                "question": f"{technique.name_en}?",
                "patient_agreed_on": referred_on,
            },
            by=radiologist,
        )
        meeting = meeting_services.create_meeting(
            meeting_services.MeetingDetails(
                starts_at=_at(meeting_day, 17),
                title=DEMO_TITLE,
                duration_minutes=90,
                capacity=12,
                place="Salle de staff, imagerie interventionnelle",
                chair_id=radiologist.id,
                coordinator_id=coordinator.id,
            )
        )
        item = meeting_services.add_to_agenda(meeting, referral, by=coordinator)
    with frozen_clock(_at(meeting_day, 17)):
        meeting_services.set_members_present(meeting, present, by=coordinator)
        meeting_services.start_meeting(meeting, by=radiologist)
        meeting_services.validate_attendance(meeting, by=radiologist)
        decision = decision_services.save_draft(
            item,
            {
                "outcome": Outcome.PROCEDURE_PROPOSED,
                "reasons": "Refractory pain despite medical treatment and infiltrations.",
                "follows_guidelines": True,
            },
            {
                "technique_id": technique.id,
                "target": story.target,
                "side": story.side,
                "guidance": list(story.guidance),
                "distance_mm": story.distance_mm,
            },
            by=radiologist,
        )
        decision_services.validate(decision, by=radiologist)
        meeting_services.hold_meeting(meeting, by=radiologist)
    performed_on = meeting_day + timedelta(days=14)
    with frozen_clock(_at(performed_on, 14)):
        return decision_services.record_procedure(
            decision.plan,
            {
                "performed_on": performed_on,
                "technique_id": technique.id,
                "target": story.target,
                "distance_mm": story.distance_mm,
                "immediate_result": "Immediate relief, no complication.",
                **story.parameters,
            },
            operator_ids=[radiologist.id],
            # Consent and blood tests on the day before; no anticoagulant, local anaesthesia.
            prerequisites={
                "consent_on": (performed_on - timedelta(days=1), None),
                "blood_tests_on": (performed_on - timedelta(days=1), None),
                "anticoagulation_managed_on": (None, "No anticoagulant or antiplatelet therapy."),
                "fasting_on": (None, "Local anaesthesia: no fasting needed."),
            },
            by=radiologist,
            # The demo nurse makes the calls.
            followup_owner_id=users["clinician@example.org"].id,
        )


def _technique(code: str) -> Technique:
    return db.session.scalar(select(Technique).where(Technique.code == code))

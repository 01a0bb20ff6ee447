"""Recording, validating and amending decisions; plans and procedures."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import (
    all_done,
    make_decision,
    make_meeting,
    make_user,
    plan_values,
    radiologist,
    running_meeting,
    technique,
)
from tracker.cases.rules import CaseStatus
from tracker.core.audit import AuditEntry
from tracker.core.errors import DomainError
from tracker.core.settings import set_setting
from tracker.core.specialties import Specialty
from tracker.decisions import services
from tracker.decisions.models import PREREQUISITES, DecisionStatus, Outcome, PatientAnswer
from tracker.decisions.settings import CONSENT_REQUIRED
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import ItemState
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def decided(clock):
    """A decision taken at the meeting of 24 Nov; then the clock moves to 2 Dec."""

    def decide(**kwargs):
        meeting = running_meeting()
        clock.set(datetime(2026, 11, 24, 18, 0, tzinfo=PARIS))
        decision = make_decision(meeting.agenda[0], **kwargs)
        clock.set(datetime(2026, 12, 2, 10, 0, tzinfo=PARIS))
        return decision

    return decide


def test_a_draft_marks_the_case_discussed_and_stays_editable(app):
    item = running_meeting().agenda[0]
    decision = make_decision(item, validate=False, reasons="First thoughts")
    assert item.state is ItemState.DISCUSSED
    assert item.referral.status is CaseStatus.DISCUSSED
    chair = decision.meeting.chair
    services.save_draft(item, {"reasons": "After discussion"}, None, by=chair)
    assert decision.reasons == "After discussion"
    assert decision.status is DecisionStatus.DRAFT


def test_drafts_need_a_started_meeting(app):
    meeting = make_meeting()
    from tests.factories import make_referral

    item = meeting_services.add_to_agenda(meeting, make_referral(), by=None)
    with pytest.raises(DomainError, match="once the meeting has started"):
        services.save_draft(
            item, {"outcome": Outcome.NOT_INDICATED}, None, by=make_user(roles={Role.RADIOLOGIST})
        )


def test_validation_freezes_the_participants_and_plans_the_procedure(app):
    decision = make_decision()
    assert decision.status is DecisionStatus.VALIDATED
    assert decision.quorum_met is True
    assert {p["name"] for p in decision.participants} == {
        "Dr Julien Moreau",
        "Dr Karim Haddad",
        "Dr Amélie Laurent",
    }
    assert decision.referral.status is CaseStatus.PLANNED
    assert decision.plan.technique.code == "cryoneurolysis"
    # Attendance changing afterwards does not change who decided.
    meeting_services.add_guest(
        decision.meeting, name="Dr Late", specialty=Specialty.SURGERY, by=None
    )
    assert len(decision.participants) == 3


def test_only_the_chair_validates(app):
    decision = make_decision(validate=False)
    with pytest.raises(DomainError, match="Only the chair"):
        services.validate(decision, by=radiologist())


def test_without_quorum_only_postponement(app):
    meeting = running_meeting(2)
    meeting_services.set_members_present(meeting, {meeting.chair_id}, by=None)
    meeting_services.validate_attendance(meeting, by=meeting.chair)
    first, second = meeting.agenda
    decision = make_decision(first, validate=False)
    with pytest.raises(DomainError, match="quorum is not met"):
        services.validate(decision, by=meeting.chair)
    db.session.rollback()
    postponed = make_decision(second, outcome=Outcome.POSTPONED, reasons="No quorum today")
    assert postponed.quorum_met is False
    assert postponed.referral.status is CaseStatus.REFERRED  # no next meeting: waiting list


def test_a_postponed_case_goes_on_the_next_meeting(app):
    following = make_meeting(starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    decision = make_decision(outcome=Outcome.POSTPONED, reasons="Needs the surgeon's view")
    assert decision.referral.status is CaseStatus.SCHEDULED
    db.session.refresh(following)
    assert [item.referral_id for item in following.agenda] == [decision.referral_id]


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome.MEDICAL_TREATMENT, CaseStatus.CLOSED),
        (Outcome.REFERRAL_ELSEWHERE, CaseStatus.CLOSED),
        (Outcome.NOT_INDICATED, CaseStatus.CLOSED),
        (Outcome.FURTHER_INVESTIGATION, CaseStatus.DISCUSSED),
    ],
)
def test_where_each_outcome_leads(app, outcome, status):
    decision = make_decision(outcome=outcome)
    assert decision.referral.status is status
    assert decision.plan is None


def test_a_proposed_procedure_needs_technique_and_target(app):
    item = running_meeting().agenda[0]
    with pytest.raises(DomainError) as refused:
        make_decision(item, plan=plan_values(target=""))
    assert refused.value.field == "target"


def test_a_validated_decision_is_locked_and_amended_with_a_reason(app):
    decision = make_decision()
    chair = decision.meeting.chair
    with pytest.raises(DomainError, match="amendment"):
        services.save_draft(decision.agenda_item, {"reasons": "Rewritten"}, None, by=chair)
    with pytest.raises(DomainError) as refused:
        services.amend(decision, {"reasons": "Corrected"}, reason=" ", by=chair)
    assert refused.value.field == "reason"
    with pytest.raises(DomainError, match="cannot be amended"):
        services.amend(
            decision, {"outcome": Outcome.NOT_INDICATED}, reason="Changed mind", by=chair
        )
    services.amend(
        decision,
        {"reasons": "Refractory neuroma pain after three injections.", "follows_guidelines": True},
        reason="The referral letter counted three injections",
        by=chair,
    )
    db.session.commit()
    [amendment] = decision.amendments
    assert amendment.changes == {
        "reasons": [
            "Refractory neuroma pain after two injections.",
            "Refractory neuroma pain after three injections.",
        ],
        "follows_guidelines": [None, True],
    }
    assert decision.outcome is Outcome.PROCEDURE_PROPOSED


def test_the_patient_refusing_closes_the_case(app, decided):
    decision = decided()
    with pytest.raises(DomainError):
        services.record_patient_answer(
            decision,
            informed_on=date(2026, 12, 3),
            informed_by_id=None,
            answer=PatientAnswer.ACCEPTS,
            by=decision.meeting.chair,
        )
    services.record_patient_answer(
        decision,
        informed_on=date(2026, 12, 1),
        informed_by_id=None,
        answer=PatientAnswer.REFUSES,
        by=decision.meeting.chair,
    )
    assert decision.referral.status is CaseStatus.CLOSED


def test_prerequisites_are_ticked_with_their_date(app, decided):
    plan = decided().plan
    clinician = make_user(roles={Role.CLINICIAN})
    services.set_prerequisite(plan, "consent_on", date(2026, 11, 30), by=clinician)
    assert {name: done for name, _label, done in plan.checklist}["consent_on"] == date(2026, 11, 30)
    services.set_prerequisite(plan, "consent_on", None, by=clinician)
    assert plan.consent_on is None
    with pytest.raises(DomainError):
        services.set_prerequisite(plan, "consent_on", date(2026, 12, 25), by=clinician)
    with pytest.raises(DomainError):
        services.set_prerequisite(plan, "not_a_prerequisite", None, by=clinician)


def test_a_consent_before_2000_or_before_the_patients_birth_is_refused(app, decided):
    plan = decided().plan
    clinician = make_user(roles={Role.CLINICIAN})
    with pytest.raises(DomainError, match="before 2000"):
        services.set_prerequisite(plan, "consent_on", date(1999, 6, 1), by=clinician)
    plan.decision.referral.patient.birth_on = date(2010, 1, 1)
    db.session.flush()
    with pytest.raises(DomainError, match="before the patient's birth"):
        services.set_prerequisite(plan, "consent_on", date(2005, 6, 1), by=clinician)
    assert plan.consent_on is None


def test_recording_the_procedure_treats_the_case_and_signals_it(app, decided):
    plan = decided().plan
    received = []

    def receive(procedure, **extra):
        received.append(procedure)

    services.procedure_recorded.connect(receive)
    try:
        procedure = services.record_procedure(
            plan,
            {
                "performed_on": date(2026, 12, 1),
                "technique_id": plan.technique_id,
                "cryo_cycles": 2,
                "cryo_freeze_minutes": 2.5,
                "cryo_probe_temperature_c": -70,
                "distance_mm": 58,
            },
            operator_ids=[plan.decision.meeting.chair_id],
            adverse_event={"cirse_grade": 1, "description": "Small haematoma, compressed"},
            prerequisites=all_done(date(2026, 11, 30)),
            by=plan.decision.meeting.chair,
        )
    finally:
        services.procedure_recorded.disconnect(receive)
    db.session.commit()
    assert received == [procedure]
    assert procedure.referral.status is CaseStatus.TREATED
    assert not procedure.is_deviation
    assert procedure.worst_cirse_grade == 1


def test_a_deviation_needs_its_reason(app, decided):
    plan = decided().plan
    chair = plan.decision.meeting.chair
    values = {"performed_on": date(2026, 12, 1), "technique_id": technique("radiofrequency").id}
    done = all_done(date(2026, 11, 30))
    with pytest.raises(DomainError) as refused:
        services.record_procedure(
            plan, values, operator_ids=[chair.id], prerequisites=done, by=chair
        )
    assert refused.value.field == "deviation_reason"
    db.session.rollback()
    procedure = services.record_procedure(
        plan,
        {**values, "deviation_reason": "Cryoprobe unavailable"},
        operator_ids=[chair.id],
        prerequisites=done,
        by=chair,
    )
    assert procedure.is_deviation


@pytest.mark.parametrize(
    ("values", "operators", "adverse", "field"),
    [
        ({"performed_on": date(2026, 11, 23)}, True, None, "performed_on"),
        ({"performed_on": date(2026, 12, 9)}, True, None, "performed_on"),
        ({}, False, None, "operator_ids"),
        ({}, True, {"cirse_grade": 7, "description": "x"}, "cirse_grade"),
        ({}, True, {"cirse_grade": None, "description": "Bruising"}, "cirse_grade"),
        ({}, True, {"cirse_grade": 2, "description": ""}, "description"),
        ({"toxin_units": -5}, True, None, "toxin_units"),
    ],
)
def test_bad_procedures_are_refused_and_change_nothing(
    app, decided, values, operators, adverse, field
):
    plan = decided().plan
    chair = plan.decision.meeting.chair
    base = {"performed_on": date(2026, 12, 1), "technique_id": plan.technique_id}
    with pytest.raises(DomainError) as refused:
        services.record_procedure(
            plan,
            {**base, **values},
            operator_ids=[chair.id] if operators else [],
            adverse_event=adverse,
            prerequisites=all_done(date(2026, 11, 30)),
            by=chair,
        )
    assert refused.value.field == field
    db.session.rollback()
    assert plan.decision.referral.status is CaseStatus.PLANNED


def test_operators_are_radiologists(app, decided):
    plan = decided().plan
    with pytest.raises(DomainError, match="radiologists"):
        services.record_procedure(
            plan,
            {"performed_on": date(2026, 12, 1), "technique_id": plan.technique_id},
            operator_ids=[make_user(roles={Role.CLINICIAN}).id],
            prerequisites=all_done(date(2026, 11, 30)),
            by=plan.decision.meeting.chair,
        )


# --- the chair's sheet first ------------------------------------------------------------


def test_a_decision_waits_for_the_chairs_attendance_sheet(app):
    meeting = running_meeting(sign_attendance=False)
    decision = make_decision(meeting.agenda[0], validate=False)
    with pytest.raises(DomainError, match="attendance sheet first") as refused:
        services.validate(decision, by=meeting.chair)
    assert refused.value.field == "attendance"
    assert decision.status is DecisionStatus.DRAFT
    meeting_services.validate_attendance(meeting, by=meeting.chair)
    services.validate(decision, by=meeting.chair)
    assert decision.status is DecisionStatus.VALIDATED


def test_a_changed_attendance_needs_the_chairs_signature_again(app):
    meeting = running_meeting()
    decision = make_decision(meeting.agenda[0], validate=False)
    meeting_services.add_guest(meeting, name="Dr Late", specialty=Specialty.SURGERY, by=None)
    with pytest.raises(DomainError, match="attendance sheet first"):
        services.check_ready(decision, by=meeting.chair)


def test_the_chair_validates_what_they_read(app):
    decision = make_decision(validate=False)
    read = decision.version
    chair = decision.meeting.chair
    services.save_draft(decision.agenda_item, {"reasons": "Changed meanwhile"}, None, by=chair)
    with pytest.raises(DomainError, match="changed since you read it"):
        services.validate(decision, by=chair, expected_version=read)
    assert decision.status is DecisionStatus.DRAFT
    services.validate(decision, by=chair, expected_version=decision.version)
    assert decision.status is DecisionStatus.VALIDATED


def test_where_a_validated_case_goes_is_known_before(app):
    planned = make_decision(validate=False)
    assert services.where_the_case_goes(planned) == (CaseStatus.PLANNED, None)
    meeting = running_meeting()
    postponed = make_decision(meeting.agenda[0], validate=False, outcome=Outcome.POSTPONED)
    assert services.where_the_case_goes(postponed) == (None, None)  # no meeting: waiting list
    following = make_meeting(starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    assert services.where_the_case_goes(postponed) == (None, following)
    services.validate(postponed, by=meeting.chair)
    db.session.refresh(following)
    assert [item.referral_id for item in following.agenda] == [postponed.referral_id]


# --- prerequisites and consent at the procedure ----------------------------------------


def _record(plan, prerequisites, **values):
    chair = plan.decision.meeting.chair
    return services.record_procedure(
        plan,
        {"performed_on": date(2026, 12, 1), "technique_id": plan.technique_id, **values},
        operator_ids=[chair.id],
        prerequisites=prerequisites,
        by=chair,
    )


def test_no_procedure_without_the_patients_consent(app, decided):
    plan = decided().plan
    others = {
        "anticoagulation_managed_on": (None, "Not on any"),
        "blood_tests_on": (date(2026, 11, 28), None),
        "fasting_on": (None, "Local anaesthesia"),
    }
    for consent in [(None, None), (None, "Patient said yes on the phone")]:
        with pytest.raises(DomainError, match="consent must be recorded") as refused:
            _record(plan, {**others, "consent_on": consent})
        assert refused.value.field == "consent_on"
        db.session.rollback()
        assert plan.decision.referral.status is CaseStatus.PLANNED
        assert plan.procedures == []
    procedure = _record(plan, {**others, "consent_on": (date(2026, 11, 30), None)})
    db.session.commit()
    # Ticked on the plan with the date given; the others' reasons kept on the procedure.
    assert plan.consent_on == date(2026, 11, 30)
    assert plan.blood_tests_on == date(2026, 11, 28)
    assert procedure.prerequisites_not_done == {
        "anticoagulation_managed_on": "Not on any",
        "fasting_on": "Local anaesthesia",
    }
    assert [str(label) for label, _reason in procedure.skipped_prerequisites] == [
        "Anticoagulant / antiplatelet management",
        "Fasting instructions (when sedated)",
    ]
    # Both are in the audit trail.
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.entity_type.in_(["ProcedurePlan", "Procedure"]))
    ).all()
    changed = {(entry.entity_type, key) for entry in entries for key in entry.changes}
    assert ("ProcedurePlan", "consent_on") in changed
    assert ("Procedure", "prerequisites_not_done") in changed


def test_a_site_may_let_a_procedure_through_without_consent_with_its_reason(app, decided):
    set_setting(CONSENT_REQUIRED, 0)
    plan = decided().plan
    answers = {name: (None, "Not done") for name, _label in PREREQUISITES}
    with pytest.raises(DomainError) as refused:
        _record(plan, {**answers, "consent_on": (None, " ")})
    assert refused.value.field == "consent_on"
    db.session.rollback()
    set_setting(CONSENT_REQUIRED, 0)
    procedure = _record(plan, answers)
    assert procedure.prerequisites_not_done["consent_on"] == "Not done"
    assert plan.consent_on is None


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        ((None, None), "blood_tests_on", "give the date it was done, or say why not"),
        ((None, "   "), "blood_tests_on", "give the date it was done, or say why not"),
        ((date(2026, 12, 2), None), "blood_tests_on", "after the procedure"),
    ],
)
def test_each_unticked_prerequisite_is_answered(app, decided, answer, field, message):
    plan = decided().plan
    answers = {**all_done(date(2026, 11, 30)), "blood_tests_on": answer}
    with pytest.raises(DomainError, match=message) as refused:
        _record(plan, answers)
    assert refused.value.field == field


def test_prerequisites_ticked_on_the_plan_are_not_asked_again(app, decided):
    plan = decided().plan
    clinician = make_user(roles={Role.CLINICIAN})
    for name, _label in PREREQUISITES:
        services.set_prerequisite(plan, name, date(2026, 11, 27), by=clinician)
    procedure = _record(plan, {})
    assert procedure.prerequisites_not_done == {}
    # What the form sends for them changes nothing.
    assert plan.consent_on == date(2026, 11, 27)


def test_the_patient_accepting_is_asked_about_the_consent(app, decided):
    decision = decided()
    chair = decision.meeting.chair
    answer = {"informed_on": date(2026, 12, 1), "informed_by_id": None, "by": chair}
    with pytest.raises(DomainError, match="say whether they signed") as refused:
        services.record_patient_answer(decision, answer=PatientAnswer.ACCEPTS, **answer)
    assert refused.value.field == "consent_signed"
    services.record_patient_answer(
        decision, answer=PatientAnswer.ACCEPTS, consent_signed=False, **answer
    )
    assert decision.plan.consent_on is None  # still to collect
    services.record_patient_answer(
        decision, answer=PatientAnswer.ACCEPTS, consent_signed=True, **answer
    )
    assert decision.plan.consent_on == date(2026, 12, 1)
    # Recorded: not asked again.
    services.record_patient_answer(decision, answer=PatientAnswer.ACCEPTS, **answer)


def test_a_consent_goes_with_an_acceptance_only(app, decided):
    decision = decided()
    chair = decision.meeting.chair
    answer = {"informed_on": date(2026, 12, 1), "informed_by_id": None, "by": chair}
    with pytest.raises(DomainError, match="only when the patient accepts"):
        services.record_patient_answer(
            decision, answer=PatientAnswer.WANTS_TIME, consent_signed=True, **answer
        )
    services.record_patient_answer(
        decision, answer=PatientAnswer.ACCEPTS, consent_signed=True, **answer
    )
    # Refusing afterwards withdraws the consent recorded.
    services.record_patient_answer(decision, answer=PatientAnswer.REFUSES, **answer)
    assert decision.plan.consent_on is None
    assert decision.referral.status is CaseStatus.CLOSED


def test_without_a_plan_the_consent_is_not_asked(app, decided):
    decision = decided(outcome=Outcome.MEDICAL_TREATMENT)
    services.record_patient_answer(
        decision,
        informed_on=date(2026, 12, 1),
        informed_by_id=None,
        answer=PatientAnswer.ACCEPTS,
        by=decision.meeting.chair,
    )
    assert decision.patient_answer is PatientAnswer.ACCEPTS


def test_an_amendment_and_its_reason_are_in_the_audit_trail(app):
    """The reason given for correcting a validated decision is recorded, with
    who gave it, in the case's audit trail; a later change to it is too."""
    from tracker.core.audit import AuditAction, AuditEntry, acting_as

    decision = make_decision()
    chair = decision.meeting.chair
    amendment = services.amend(
        decision,
        {"reasons": "Refractory neuroma pain after three injections."},
        reason="The referral letter counted three injections",
        by=chair,
    )
    db.session.commit()
    [created] = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "DecisionAmendment",
            AuditEntry.entity_id == str(amendment.id),
        )
    ).all()
    assert created.action is AuditAction.INSERT
    assert created.changes["reason"] == [None, "The referral letter counted three injections"]
    assert created.referral_id == decision.referral_id

    with acting_as("a direct edit"):
        amendment.reason = "Typo"
        db.session.commit()
    changed = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity_type == "DecisionAmendment",
            AuditEntry.action == AuditAction.UPDATE,
        )
        .order_by(AuditEntry.id.desc())
    ).first()
    assert changed.changes["reason"] == ["The referral letter counted three injections", "Typo"]

"""Every per-object permission, as a table.

``WHO`` says, for each permission, which kinds of person hold it. The pure
functions are checked against it on plain objects, and every service that
changes an object is called directly by each kind of person: a refused call
raises ``Forbidden`` and changes nothing in the database, an allowed one
succeeds and changes something. A new ``can_*`` function left out of the
table fails the suite.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import date, datetime
from types import ModuleType, SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import (
    EARLY,
    all_done,
    assess,
    assessment_values,
    contact_values,
    make_decision,
    make_invitation,
    make_meeting,
    make_patient,
    make_procedure,
    make_referral,
    make_user,
    radiologist,
)
from tracker.auth.models import User
from tracker.cases import permissions as case_permissions
from tracker.cases import services as case_services
from tracker.cases.rules import CaseStatus
from tracker.core.errors import DomainError, Forbidden
from tracker.core.specialties import Specialty
from tracker.core.time import frozen_clock, local_today
from tracker.decisions import permissions as decision_permissions
from tracker.decisions import services as decision_services
from tracker.decisions.models import NotCarriedOut, Outcome, PatientAnswer
from tracker.extensions import db
from tracker.followups import permissions as followup_permissions
from tracker.followups import services as followup_services
from tracker.followups.models import FollowUp, FollowUpStatus
from tracker.meetings import permissions as meeting_permissions
from tracker.meetings import services as meeting_services
from tracker.selfreport import permissions as selfreport_permissions
from tracker.selfreport import services as selfreport_services
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")

#: The kinds of person of every row. The owner referred the case concerned and
#: the chair chairs the meeting concerned; both are clinicians, so that what
#: they may do as owner or chair is not mistaken for a radiologist's rights.
KINDS = ("coordinator", "radiologist", "clinician", "owner", "chair", "admin")
ROLES = {
    "coordinator": Role.COORDINATOR,
    "radiologist": Role.RADIOLOGIST,
    "clinician": Role.CLINICIAN,
    "owner": Role.CLINICIAN,
    "chair": Role.CLINICIAN,
    "admin": Role.ADMIN,
}
TEAM = {"coordinator", "radiologist", "clinician", "owner", "chair"}
CARERS = {"radiologist", "clinician", "owner", "chair"}

#: Who holds each permission (the reviewed rule; everyone else is refused).
WHO: dict[str, set[str]] = {
    "can_edit_referral": {"coordinator", "radiologist", "owner"},
    "can_correct_identity": {"coordinator", "radiologist"},
    "can_edit_contact": TEAM,
    "can_organise_meeting": {"coordinator"},
    "can_run_meeting": {"coordinator", "chair"},
    "can_validate_attendance": {"chair"},
    "can_record_decision": {"coordinator", "radiologist", "chair"},
    "can_validate": {"chair"},
    "can_amend": {"coordinator", "radiologist", "chair"},
    "can_record_patient_answer": TEAM,
    "can_record_not_carried_out": TEAM,
    "can_edit_plan": {"coordinator", "radiologist"},
    "can_tick_prerequisite": TEAM,
    "can_record_procedure": {"radiologist"},
    "can_add_adverse_event": CARERS,
    "can_log_assessment": CARERS,
    "can_mark_missed": CARERS,
    "can_present_again": CARERS,
    "can_close_case": TEAM,
    "can_change_owner": TEAM,
    "can_manage_invitation": CARERS,
}

MODULES: list[ModuleType] = [
    case_permissions,
    meeting_permissions,
    decision_permissions,
    followup_permissions,
    selfreport_permissions,
]


def permission_functions() -> dict[str, Callable[..., bool]]:
    return {
        name: function
        for module in MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("can_") and function.__module__ == module.__name__
    }


def test_every_permission_is_in_the_table():
    assert sorted(permission_functions()) == sorted(WHO)


# --- the pure functions, on plain objects ------------------------------------------

OWNER_ID, CHAIR_ID, CREATOR_ID = 1, 2, 3


def person(kind: str) -> Any:
    ids = {"owner": OWNER_ID, "chair": CHAIR_ID}
    return SimpleNamespace(
        id=ids.get(kind, 100 + KINDS.index(kind)), roles={ROLES[kind]}, is_authenticated=True
    )


def subject() -> Any:
    """One object standing for all of them: a case, its meeting, its decision..."""
    meeting = SimpleNamespace(chair_id=CHAIR_ID)
    return SimpleNamespace(
        referrer_id=OWNER_ID, created_by_id=CREATOR_ID, chair_id=CHAIR_ID, meeting=meeting
    )


@pytest.mark.parametrize("permission", sorted(WHO))
@pytest.mark.parametrize("kind", KINDS)
def test_the_pure_function_follows_the_table(permission, kind):
    function = permission_functions()[permission]
    assert function(person(kind), subject()) is (kind in WHO[permission])


def test_whoever_registered_a_referral_edits_it_as_its_referrer_does():
    creator = SimpleNamespace(id=CREATOR_ID, roles={Role.CLINICIAN}, is_authenticated=True)
    assert case_permissions.can_edit_referral(creator, subject())


@pytest.mark.parametrize("permission", sorted(WHO))
def test_nobody_logged_out_holds_a_permission(permission):
    anonymous = SimpleNamespace(is_authenticated=False, roles=set())
    # Not even on objects with empty links (no chair, no referrer).
    empty = SimpleNamespace(
        referrer_id=None, created_by_id=None, chair_id=None, meeting=SimpleNamespace(chair_id=None)
    )
    assert permission_functions()[permission](anonymous, empty) is False


# --- the services, called directly -------------------------------------------------


class Cast:
    """The people of one row, made when first asked for."""

    def __init__(self) -> None:
        self.people: dict[str, User] = {}

    def __getitem__(self, kind: str) -> User:
        if kind not in self.people:
            specialty = Specialty.RHEUMATOLOGY if kind == "chair" else Specialty.PAIN_MEDICINE
            self.people[kind] = make_user(roles={ROLES[kind]}, specialty=specialty)
        return self.people[kind]


Act = Callable[[User], Any]


def owned_referral(cast: Cast, **overrides: Any) -> Any:
    return make_referral(referrer_id=cast["owner"].id, by=cast["owner"], **overrides)


def chaired_meeting(cast: Cast, **overrides: Any) -> Any:
    return make_meeting(chair_id=cast["chair"].id, **overrides)


def running_meeting(cast: Cast) -> Any:
    """A started meeting with a quorum, its attendance sheet signed by the chair,
    and the owner's case on its agenda."""
    meeting = chaired_meeting(cast)
    present = {
        cast["chair"].id,
        make_user(specialty=Specialty.ANAESTHESIOLOGY).id,
        make_user(specialty=Specialty.SURGERY).id,
    }
    meeting_services.set_members_present(meeting, present, by=None)
    meeting_services.add_to_agenda(meeting, owned_referral(cast), by=None)
    meeting_services.start_meeting(meeting, by=None, early_reason=EARLY)
    # The chair signs the sheet first: decisions are validated only then.
    meeting_services.validate_attendance(meeting, by=cast["chair"])
    db.session.commit()
    return meeting


def decided(cast: Cast, *, validate: bool = True) -> Any:
    """A decision proposing a procedure at the chair's meeting (validated by default)."""
    return make_decision(running_meeting(cast).agenda[0], validate=validate)


def treated(cast: Cast, **values: Any) -> Any:
    """The owner's case, treated on 16 June 2026 (referred on 20 May)."""
    referred_on = date(2026, 5, 20)
    with frozen_clock(datetime(2026, 5, 20, 9, 0, tzinfo=PARIS)):
        referral = owned_referral(cast, referral_on=referred_on, patient_agreed_on=referred_on)
    return make_procedure(referral=referral, **values)


def planned_followups(procedure: Any) -> list[FollowUp]:
    return list(
        db.session.scalars(
            select(FollowUp)
            .where(FollowUp.procedure_id == procedure.id, FollowUp.status == FollowUpStatus.PLANNED)
            .order_by(FollowUp.due_on)
        )
    )


# Each scenario builds its object in the state the action needs and returns the
# action, to be done by the person of the row.


def update_referral(cast: Cast) -> Act:
    referral = owned_referral(cast)
    return lambda by: case_services.update_referral(
        referral, {"nrs_now": 3}, expected_version=referral.version, by=by
    )


def withdraw(cast: Cast) -> Act:
    referral = owned_referral(cast)
    return lambda by: case_services.withdraw(referral, reason="Pain resolved", by=by)


def update_patient(cast: Cast) -> Act:
    patient = make_patient()
    owned_referral(cast, patient=patient)
    identity = case_services.PatientIdentity(
        mrn=patient.mrn,
        last_name="Durand",
        first_name=patient.first_name,
        birth_on=patient.birth_on,
        sex=patient.sex,
    )
    return lambda by: case_services.update_patient(patient, identity, by=by)


def update_contact(cast: Cast) -> Act:
    patient = make_patient()
    owned_referral(cast, patient=patient)
    return lambda by: case_services.update_contact(patient, contact_values(), by=by)


def update_meeting(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    details = meeting_services.MeetingDetails(
        starts_at=meeting.starts_at,
        duration_minutes=60,
        capacity=8,
        place="Salle 4",
        chair_id=meeting.chair_id,
    )
    return lambda by: meeting_services.update_meeting(meeting, details, by=by)


def cancel_meeting(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    return lambda by: meeting_services.cancel_meeting(meeting, by=by)


def add_to_agenda(cast: Cast) -> Act:
    meeting, referral = chaired_meeting(cast), owned_referral(cast)
    return lambda by: meeting_services.add_to_agenda(meeting, referral, by=by)


def _on_agenda(cast: Cast, count: int = 1) -> list[Any]:
    meeting = chaired_meeting(cast)
    items = [
        meeting_services.add_to_agenda(meeting, owned_referral(cast), by=None) for _ in range(count)
    ]
    db.session.commit()
    return items


def save_agenda(cast: Cast) -> Act:
    first, second = _on_agenda(cast, 2)
    meeting = first.meeting
    stamp = meeting_services.agenda_stamp([first, second])
    rows = [
        meeting_services.AgendaRow(second.id, None, 25),
        meeting_services.AgendaRow(first.id, None, 10),
    ]
    return lambda by: meeting_services.save_agenda(meeting, rows, stamp=stamp, by=by)


def remove_from_agenda(cast: Cast) -> Act:
    [item] = _on_agenda(cast)
    return lambda by: meeting_services.remove_from_agenda(item, by=by)


def move_to_meeting(cast: Cast) -> Act:
    [item] = _on_agenda(cast)
    later = chaired_meeting(cast, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    return lambda by: meeting_services.move_to_meeting(item, later, by=by)


def set_members_present(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    return lambda by: meeting_services.set_members_present(meeting, {cast["chair"].id}, by=by)


def add_guest(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    return lambda by: meeting_services.add_guest(
        meeting, name="Dr Invited", specialty=Specialty.ONCOLOGY, by=by
    )


def remove_guest(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    guest = meeting_services.add_guest(
        meeting, name="Dr Invited", specialty=Specialty.ONCOLOGY, by=None
    )
    db.session.commit()
    return lambda by: meeting_services.remove_guest(meeting, guest.id, by=by)


def start_meeting(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    return lambda by: meeting_services.start_meeting(meeting, by=by, early_reason=EARLY)


def hold_meeting(cast: Cast) -> Act:
    meeting = running_meeting(cast)
    return lambda by: meeting_services.hold_meeting(meeting, by=by)


def validate_attendance(cast: Cast) -> Act:
    meeting = chaired_meeting(cast)
    meeting_services.set_members_present(meeting, {cast["chair"].id}, by=None)
    db.session.commit()
    return lambda by: meeting_services.validate_attendance(meeting, by=by)


def save_draft(cast: Cast) -> Act:
    item = running_meeting(cast).agenda[0]
    values = {"outcome": Outcome.NOT_INDICATED, "reasons": "Pain too diffuse for a target."}
    return lambda by: decision_services.save_draft(item, values, None, by=by)


def validate(cast: Cast) -> Act:
    decision = decided(cast, validate=False)
    return lambda by: decision_services.validate(decision, by=by)


def amend(cast: Cast) -> Act:
    decision = decided(cast)
    return lambda by: decision_services.amend(
        decision, {"reasons": "Refractory neuroma pain."}, reason="Typing error", by=by
    )


def record_patient_answer(cast: Cast) -> Act:
    decision = decided(cast)
    return lambda by: decision_services.record_patient_answer(
        decision,
        informed_on=local_today(),
        informed_by_id=None,
        answer=PatientAnswer.ACCEPTS,
        consent_signed=True,  # ticks the plan's consent too
        by=by,
    )


def record_not_carried_out(cast: Cast) -> Act:
    plan = decided(cast).plan
    return lambda by: decision_services.record_not_carried_out(
        plan, reason=NotCarriedOut.PATIENT_CHOICE, note=None, on=local_today(), by=by
    )


def update_plan(cast: Cast) -> Act:
    plan = decided(cast).plan
    return lambda by: decision_services.update_plan(plan, {"target": "Tibial nerve"}, by=by)


def set_prerequisite(cast: Cast) -> Act:
    plan = decided(cast).plan
    return lambda by: decision_services.set_prerequisite(plan, "consent_on", local_today(), by=by)


def record_procedure(cast: Cast) -> Act:
    plan = decided(cast).plan
    operator = radiologist()
    values = {"performed_on": local_today(), "technique_id": plan.technique_id, "distance_mm": 60}
    return lambda by: decision_services.record_procedure(
        plan, values, operator_ids=[operator.id], prerequisites=all_done(local_today()), by=by
    )


def add_adverse_event(cast: Cast) -> Act:
    procedure = treated(cast)
    return lambda by: decision_services.add_adverse_event(
        procedure, cirse_grade=1, description="Bruise at the puncture site", by=by
    )


def log_assessment(cast: Cast) -> Act:
    referral = treated(cast).referral
    return lambda by: followup_services.log_assessment(referral, assessment_values(), by=by)


def mark_missed(cast: Cast) -> Act:
    followup = planned_followups(treated(cast))[0]
    return lambda by: followup_services.mark_missed(followup, reason="Lost to follow-up", by=by)


def close_case(cast: Cast) -> Act:
    procedure = treated(cast, distance_mm=None)
    first, *others = planned_followups(procedure)
    assess(procedure, followup=first, nrs_average=2)
    for followup in others:
        followup_services.mark_missed(followup, reason="Lost", by=make_user())
    db.session.commit()
    return lambda by: followup_services.close_case(procedure.referral, by=by)


def change_owner(cast: Cast) -> Act:
    referral = treated(cast).referral
    nurse = make_user(roles={Role.CLINICIAN})
    return lambda by: followup_services.change_owner(referral, nurse.id, by=by)


def present_again(cast: Cast) -> Act:
    referral = treated(cast).referral
    return lambda by: followup_services.present_again(
        referral,
        reason="Pain back after cryoneurolysis",
        question="Repeat cryoneurolysis?",
        patient_agreed_on=local_today(),
        pain_duration_months=24,
        by=by,
    )


def revoke_invitation(cast: Cast) -> Act:
    invitation = make_invitation()
    return lambda by: selfreport_services.revoke(invitation, by=by)


def resend_invitation(cast: Cast) -> Act:
    invitation = make_invitation()
    return lambda by: selfreport_services.resend(invitation, by=by)


def read_invitation_link(cast: Cast) -> Act:
    """Reading a link out changes nothing but the audit trail: that is its trace."""
    invitation = make_invitation()
    return lambda by: selfreport_services.link_to_read(invitation, by=by)


#: Each service that changes an object, with the permission it asks.
SERVICES: dict[str, tuple[str, Callable[[Cast], Act]]] = {
    "update_referral": ("can_edit_referral", update_referral),
    "withdraw": ("can_edit_referral", withdraw),
    "update_patient": ("can_correct_identity", update_patient),
    "update_contact": ("can_edit_contact", update_contact),
    "update_meeting": ("can_organise_meeting", update_meeting),
    "cancel_meeting": ("can_organise_meeting", cancel_meeting),
    "add_to_agenda": ("can_organise_meeting", add_to_agenda),
    "save_agenda": ("can_organise_meeting", save_agenda),
    "remove_from_agenda": ("can_organise_meeting", remove_from_agenda),
    "move_to_meeting": ("can_organise_meeting", move_to_meeting),
    "set_members_present": ("can_organise_meeting", set_members_present),
    "add_guest": ("can_organise_meeting", add_guest),
    "remove_guest": ("can_organise_meeting", remove_guest),
    "start_meeting": ("can_run_meeting", start_meeting),
    "hold_meeting": ("can_run_meeting", hold_meeting),
    "validate_attendance": ("can_validate_attendance", validate_attendance),
    "save_draft": ("can_record_decision", save_draft),
    "validate": ("can_validate", validate),
    "amend": ("can_amend", amend),
    "record_patient_answer": ("can_record_patient_answer", record_patient_answer),
    "record_not_carried_out": ("can_record_not_carried_out", record_not_carried_out),
    "update_plan": ("can_edit_plan", update_plan),
    "set_prerequisite": ("can_tick_prerequisite", set_prerequisite),
    "record_procedure": ("can_record_procedure", record_procedure),
    "add_adverse_event": ("can_add_adverse_event", add_adverse_event),
    "log_assessment": ("can_log_assessment", log_assessment),
    "mark_missed": ("can_mark_missed", mark_missed),
    "close_case": ("can_close_case", close_case),
    "present_again": ("can_present_again", present_again),
    "change_owner": ("can_change_owner", change_owner),
    "revoke_invitation": ("can_manage_invitation", revoke_invitation),
    "resend_invitation": ("can_manage_invitation", resend_invitation),
    "read_invitation_link": ("can_manage_invitation", read_invitation_link),
}

ROWS = [
    pytest.param(service, kind, kind in WHO[permission], id=f"{service}-{kind}")
    for service, (permission, _scenario) in SERVICES.items()
    for kind in KINDS
]


def test_every_permission_is_asked_by_a_service():
    assert {permission for permission, _scenario in SERVICES.values()} == set(WHO)


def database_state() -> dict[str, list[str]]:
    """Every row of every table (the test database is small)."""
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
        for table in db.metadata.sorted_tables
    }


@pytest.mark.parametrize(("service", "kind", "allowed"), ROWS)
def test_the_service_refuses_whom_the_table_refuses(app, service, kind, allowed):
    _permission, scenario = SERVICES[service]
    cast = Cast()
    act = scenario(cast)
    actor = cast[kind]
    db.session.commit()
    before = database_state()
    if allowed:
        act(actor)
        db.session.flush()
        assert database_state() != before, "an allowed action changed nothing"
    else:
        with pytest.raises(Forbidden):
            act(actor)
        assert database_state() == before


# --- permissions are about who; the state of the object is a rule of its own ---------


def test_an_allowed_person_is_still_held_to_the_rules_of_the_state(app):
    cast = Cast()
    referral = owned_referral(cast)
    case_services.change_status(referral, CaseStatus.SCHEDULED, by=None)
    case_services.change_status(referral, CaseStatus.DISCUSSED, by=None)
    with pytest.raises(DomainError) as refused:
        case_services.update_referral(
            referral, {"nrs_now": 3}, expected_version=referral.version, by=cast["owner"]
        )
    assert not isinstance(refused.value, Forbidden)
    assert "has been discussed" in str(refused.value)


def test_the_product_itself_acts_without_a_person(app):
    """``by=None``: the scheduler closes meetings after their end."""
    cast = Cast()
    meeting = running_meeting(cast)
    meeting_services.hold_meeting(meeting, by=None)
    assert meeting.status.name == "HELD"


def test_a_postponed_case_is_carried_over_whoever_the_chair_is(app):
    """Validating a postponement puts the case on the next agenda, although the
    chair (a clinician here) may not organise meetings."""
    cast = Cast()
    following = chaired_meeting(cast, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    decision = make_decision(running_meeting(cast).agenda[0], outcome=Outcome.POSTPONED, plan=None)
    assert [item.referral_id for item in following.agenda] == [decision.referral_id]

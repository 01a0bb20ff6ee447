"""A small world with one real object behind every kind of id in the URL map,
for tests that walk every route (access matrix, form fuzzing)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.factories import (
    first_indication,
    give_contact,
    make_meeting,
    make_procedure,
    make_referral,
    make_user,
)
from tracker.auth import services as auth_services
from tracker.core.mail import OutboxMessage, queue_mail
from tracker.core.specialties import Specialty
from tracker.core.time import local_today, utcnow
from tracker.decisions.models import PREREQUISITES
from tracker.extensions import db
from tracker.fhir import services as fhir_services
from tracker.followups.models import FollowUp
from tracker.followups.services import planned_for
from tracker.meetings import services as meeting_services
from tracker.selfreport import services as selfreport_services
from tracker.web.permissions import Role


def build_world(app: Any) -> dict[str, Any]:
    """Objects for every URL argument, by argument name."""
    procedure = make_procedure()
    followup = db.session.scalars(
        select(FollowUp).where(FollowUp.procedure_id == procedure.id).order_by(FollowUp.id)
    ).first()
    upcoming = make_meeting()
    item = meeting_services.add_to_agenda(upcoming, make_referral(), by=None)
    guest = meeting_services.add_guest(
        upcoming, name="Dr Invited", specialty=Specialty.ONCOLOGY, by=None
    )
    target = make_user(full_name="Someone Else")
    make_user(full_name="Former Colleague", is_active=False)
    with app.test_request_context():
        other_session = auth_services.open_session(target, user_agent=None, ip_address=None)
    queue_mail(key="world", to=target, subject="Subject", body="Body")
    token = meeting_services.create_feed(target)
    # The patient was invited to answer month 6's questionnaire online (its
    # window is open): the case page offers to resend, revoke or read the link.
    give_contact(procedure.referral.patient, email="patient@example.org", preferred_channel="EMAIL")
    today = local_today()
    [month6] = [
        f
        for f in planned_for(procedure)
        if f.window_start_on and f.window_start_on <= today <= f.window_end_on
    ]
    invitation = selfreport_services.invite(month6, utcnow())
    api_client, _token = fhir_services.register_client(
        name="Hospital record",
        scopes=["system/Observation.read"],
        expires_on=today + timedelta(days=30),
        by=None,
    )
    group = auth_services.map_directory_group(
        "CN=RCP-Radiologues,DC=chu,DC=fr", role=Role.RADIOLOGIST, specialty=None
    )
    db.session.commit()
    return {
        "referral_id": procedure.referral_id,
        "patient_id": procedure.referral.patient_id,
        "decision_id": procedure.plan.decision_id,
        "plan_id": procedure.plan_id,
        "procedure_id": procedure.id,
        "followup_id": followup.id,
        "meeting_id": upcoming.id,
        "item_id": item.id,
        "attendance_id": guest.id,
        "user_id": target.id,
        "session_id": other_session.id,
        "message_id": db.session.scalar(select(OutboxMessage.id)),
        "kind": "indications",
        "entry_id": first_indication().id,
        "name": PREREQUISITES[0][0],
        "token": token,
        "invitation_id": invitation.id,
        "client_id": api_client.id,
        "group_id": group.id,
        "resource_type": "Observation",
        "resource_id": f"referral-{procedure.referral_id}-now",
    }

"""What a meeting leaves once held: one e-mail per referrer, the summary for its
coordinator, and the one-page summary itself."""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pypdf
from sqlalchemy import select

from tests.factories import (
    make_decision,
    make_meeting,
    make_referral,
    make_user,
    radiologist,
    running_meeting,
)
from tracker.core.audit import AuditAction, AuditEntry
from tracker.core.mail import OutboxMessage
from tracker.core.specialties import Specialty
from tracker.decisions.models import Outcome
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import Attendance
from tracker.web.permissions import Role


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), " ".join(
        " ".join(page.extract_text().split()) for page in reader.pages
    )


def messages(prefix: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedup_key.startswith(prefix))
            .order_by(OutboxMessage.id)
        )
    )


def held_meeting(*, cases: int = 3, locale: str | None = None):
    """A meeting of ``cases`` cases from two referrers (``locale`` for the
    second one), the first two decided, held by its chair."""
    coordinator = make_user(roles={Role.COORDINATOR}, full_name="Claire Fontaine")
    meeting = running_meeting(0, coordinator_id=coordinator.id)
    other = radiologist(full_name="Dr Paul Girard", locale=locale)
    referrals = [
        make_referral(referrer_id=(meeting.chair_id if n % 2 == 0 else other.id))
        for n in range(cases)
    ]
    items = [meeting_services.add_to_agenda(meeting, r, by=None) for r in referrals]
    db.session.commit()
    make_decision(items[0])
    make_decision(items[1], outcome=Outcome.MEDICAL_TREATMENT, reasons="Pregabalin titration.")
    meeting_services.hold_meeting(meeting, by=meeting.chair)
    db.session.commit()
    return meeting, referrals, other, coordinator


def test_each_referrer_hears_once_with_links_and_no_patient_identifier(app):
    meeting, referrals, other, _coordinator = held_meeting(cases=3)
    sent = messages("meeting-minutes:")
    assert sorted(message.recipient_id for message in sent) == sorted([meeting.chair_id, other.id])
    chair_mail = next(message for message in sent if message.recipient_id == meeting.chair_id)
    assert "2 of your cases were on the agenda of the RCP of 24 Nov 2026." in chair_mail.body
    # The chair referred cases 1 and 3: the first was decided, the third not.
    decision_ids = re.findall(r"/decisions/(\d+)", chair_mail.body)
    assert len(decision_ids) == 1
    assert "1 had no decision at this meeting" in chair_mail.body
    for message in sent:
        for referral in referrals:
            patient = referral.patient
            for identifier in (
                referral.case_number,
                patient.mrn,
                patient.last_name,
                patient.first_name,
                patient.birth_on.isoformat(),
                "1961",
            ):
                assert identifier.lower() not in (message.subject + message.body).lower()

    # Closing again (a second scheduler, a rerun) writes nothing more.
    from tracker.decisions.minutes import send_minutes

    assert send_minutes(meeting) == 0
    db.session.commit()
    assert len(messages("meeting-minutes:")) == 2
    assert len(messages("meeting-summary:")) == 1


def test_the_referrer_is_written_to_in_their_language(app):
    meeting, _referrals, other, _coordinator = held_meeting(cases=2, locale="fr")
    french = next(m for m in messages("meeting-minutes:") if m.recipient_id == other.id)
    said = "1 de vos dossiers était à l\u2019ordre du jour de la RCP du 24 nov. 2026."
    assert said in french.body
    assert "Bonjour Dr Paul Girard" in french.body
    english = next(m for m in messages("meeting-minutes:") if m.recipient_id == meeting.chair_id)
    assert "1 of your cases was on the agenda" in english.body


def test_a_referrer_who_turned_these_emails_off_gets_none(app):
    chair = radiologist(email_meeting_minutes=False)
    meeting = running_meeting(1, chair=chair)
    meeting_services.hold_meeting(meeting, by=None)
    db.session.commit()
    assert messages("meeting-minutes:") == []


def test_the_coordinator_gets_a_link_to_the_summary(app):
    meeting, _referrals, _other, coordinator = held_meeting(cases=2)
    (summary,) = messages("meeting-summary:")
    assert summary.recipient_id == coordinator.id
    assert f"/meetings/{meeting.id}/summary.pdf" in summary.body
    assert "2 cases on the agenda, 2 decisions validated." in summary.body


def test_the_summary_is_one_page_with_attendance_and_decisions(client, auth):
    meeting, referrals, _other, coordinator = held_meeting(cases=12)
    meeting.attendance.append(
        Attendance(guest_name="Dr Ines Vidal", specialty=Specialty.RHEUMATOLOGY)
    )
    db.session.commit()
    auth.login_as(coordinator)
    response = client.get(f"/meetings/{meeting.id}/summary.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    pages, text = pdf_text(response.data)
    assert pages == 1
    for expected in (
        "Summary of the RCP of 24 Nov 2026",
        "Salle de staff, imagerie, niveau 2",
        "Dr Julien Moreau",
        "Dr Karim Haddad",
        "Anaesthesiology",
        "Dr Amélie Laurent",
        "Dr Ines Vidal (guest)",
        "Quorum met",
        "12 cases on the agenda",
        "Procedure proposed",
        "Cryoneurolysis",
        "Medical or conservative treatment",
        "Pregabalin titration.",
        "Back to the waiting list",
    ):
        assert expected in text, expected
    for referral in referrals:
        assert referral.case_number in text
    entry = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == AuditAction.DOWNLOAD, AuditEntry.entity_type == "Meeting"
        )
    )
    assert entry is not None
    assert entry.entity_id == str(meeting.id)


def test_the_summary_says_where_a_case_not_discussed_went(client, auth):
    later = make_meeting(starts_at=datetime(2026, 11, 30, 17, 0, tzinfo=ZoneInfo("Europe/Paris")))
    meeting, _referrals, _other, coordinator = held_meeting(cases=3)
    auth.login_as(coordinator)
    _pages, text = pdf_text(client.get(f"/meetings/{meeting.id}/summary.pdf").data)
    assert "Carried over to the meeting of 30 Nov 2026" in text
    assert len(later.agenda) == 1


def test_the_summary_in_french(client, auth):
    meeting, _referrals, _other, coordinator = held_meeting(cases=2)
    coordinator.locale = "fr"
    db.session.commit()
    auth.login_as(coordinator)
    _pages, text = pdf_text(client.get(f"/meetings/{meeting.id}/summary.pdf").data)
    assert "Synthèse de la RCP du 24 nov. 2026" in text
    assert "Quorum atteint" in text


def test_only_the_team_downloads_the_summary(client, auth):
    meeting = running_meeting(1)
    outsider = make_user(roles={Role.ADMIN})
    auth.login_as(outsider)
    assert client.get(f"/meetings/{meeting.id}/summary.pdf").status_code == 403
    auth.logout()
    assert client.get(f"/meetings/{meeting.id}/summary.pdf").status_code == 302
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    assert client.get(f"/meetings/{meeting.id}/summary.pdf").status_code == 200
    assert client.get("/meetings/999999/summary.pdf").status_code == 404


def test_the_summary_of_a_running_meeting_leaves_its_cases_to_discuss(client, auth):
    meeting = running_meeting(2)
    make_decision(meeting.agenda[0], validate=False)
    auth.login_as(meeting.chair)
    _pages, text = pdf_text(client.get(f"/meetings/{meeting.id}/summary.pdf").data)
    assert "Procedure proposed (draft)" in text
    assert "To discuss" in text
    assert "Back to the waiting list" not in text

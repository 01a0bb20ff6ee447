"""Stored values that look like markup stay text everywhere they are shown:
pages, the PDF sheet, e-mails and calendar files."""

from __future__ import annotations

import io
from datetime import timedelta

import icalendar
from pypdf import PdfReader
from sqlalchemy import select

from tests.factories import make_decision, make_meeting, make_patient, make_referral, make_user
from tracker.cases.rules import CaseStatus
from tracker.core.mail import MailSettings, OutboxMessage, _email
from tracker.extensions import db
from tracker.meetings.calendar import calendar_for
from tracker.web.permissions import Role

SCRIPT = '<script>alert("rcp")</script>'
IMAGE = '"><img src=x onerror=alert(1)>'


def test_pages_show_markup_as_text(client, auth):
    patient = make_patient(last_name=SCRIPT, first_name=IMAGE)
    referral = make_referral(patient=patient, question=f"Cryoneurolysis? {SCRIPT}")
    auth.login_as(make_user(roles={Role.COORDINATOR, Role.ADMIN}))
    # The viewer shows identities once a reason is given (itself shown as text).
    client.post("/admin/audit/unmask", data={"reason": f"Checking escaping {SCRIPT}"})
    for url in (
        "/cases",
        f"/cases?q={patient.mrn}",
        f"/cases/{referral.id}",
        f"/cases/{referral.id}/history",
        "/admin/audit",
    ):
        # Lower case: family names are shown in capitals.
        body = client.get(url).get_data(as_text=True).lower()
        assert "<script>alert(" not in body, url
        assert "<img src=x" not in body, url
        assert "&lt;script&gt;alert(" in body, url


def test_the_pdf_sheet_prints_markup_as_it_was_typed(client, auth):
    decision = make_decision(reasons=f"**Not bold** {SCRIPT}")
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    pdf = client.get(f"/decisions/{decision.id}.pdf").data
    content = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "**Not bold**" in content
    assert "<script>alert(" in content


def test_e_mails_are_plain_text_with_the_value_as_typed(app, clock):
    from tracker.cases.tasks import draft_reminders

    person = make_user(full_name=f"Dr {SCRIPT}\r\nBcc: everyone@example.com")
    draft = make_referral(by=person, referrer_id=person.id, question=None)
    assert draft.status is CaseStatus.DRAFT
    clock.advance(days=8)
    draft_reminders(clock())
    message = db.session.scalars(select(OutboxMessage)).one()
    assert SCRIPT in message.body
    email = _email(message, MailSettings.from_config({**app.config, "MAIL_HOST": "localhost"}))
    assert email.get_content_type() == "text/plain"
    assert email["Bcc"] is None
    assert not email.is_multipart()


def test_calendar_files_keep_values_in_their_own_property(app):
    meeting = make_meeting(place=f"Room 3 {SCRIPT}\r\nATTENDEE:mailto:everyone@example.com")
    body = calendar_for([meeting], lambda m: f"https://rcp.example/meetings/{m.id}")
    parsed = icalendar.Calendar.from_ical(body)
    [event] = parsed.walk("VEVENT")
    assert str(event["LOCATION"]).startswith("Room 3 <script>")
    assert "ATTENDEE" not in event
    assert event["DTEND"].dt - event["DTSTART"].dt > timedelta(0)

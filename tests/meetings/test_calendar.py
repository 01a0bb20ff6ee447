"""Calendar files: they import cleanly, follow changes, and name no patient."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.factories import make_meeting, make_patient, make_referral, make_user, radiologist
from tests.html import soup
from tracker.extensions import db
from tracker.meetings import services
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def events(response) -> list:
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return list(Calendar.from_ical(response.data).walk("VEVENT"))


def test_a_meeting_downloads_as_an_event_in_paris_time(client, auth):
    patient = make_patient(last_name="Lefèvre", first_name="Éloïse", mrn="80012345")
    meeting = make_meeting(video_link="https://visio.chu.test/rcp")
    referral = make_referral(patient=patient)
    services.add_to_agenda(meeting, referral, by=None)
    db.session.commit()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    response = client.get(f"/meetings/{meeting.id}.ics")
    [event] = events(response)
    assert str(event["UID"]) == meeting.uid
    start = event.decoded("DTSTART")
    assert start == datetime(2026, 11, 24, 17, 0, tzinfo=PARIS)
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert event.decoded("DTEND") == datetime(2026, 11, 24, 18, 30, tzinfo=PARIS)
    assert referral.case_number in str(event["DESCRIPTION"])
    assert f"/meetings/{meeting.id}" in str(event["URL"])
    body = response.data.decode()
    for secret in ("Lefèvre", "LEFÈVRE", "Éloïse", "80012345", "Cryoneurolysis"):
        assert secret not in body
    assert b"BEGIN:VTIMEZONE" in response.data


def test_uid_is_stable_and_sequence_grows_with_each_change(client, auth):
    meeting = make_meeting()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    [first] = events(client.get(f"/meetings/{meeting.id}.ics"))
    services.update_meeting(
        meeting,
        services.MeetingDetails(
            starts_at=datetime(2026, 11, 25, 17, 0, tzinfo=PARIS),
            duration_minutes=60,
            capacity=12,
            place="Salle B",
        ),
        by=None,
    )
    db.session.commit()
    [moved] = events(client.get(f"/meetings/{meeting.id}.ics"))
    services.cancel_meeting(meeting, by=None)
    db.session.commit()
    [cancelled] = events(client.get(f"/meetings/{meeting.id}.ics"))
    assert first["UID"] == moved["UID"] == cancelled["UID"]
    assert [int(e["SEQUENCE"]) for e in (first, moved, cancelled)] == [0, 1, 2]
    assert str(moved["LOCATION"]) == "Salle B"
    assert str(first["STATUS"]) == "CONFIRMED"
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_the_subscription_lists_the_users_meetings_and_only_with_its_token(app, client, auth):
    doctor = radiologist()
    chaired = make_meeting(chair_id=doctor.id)
    presenting = make_meeting(starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS))
    services.add_to_agenda(presenting, make_referral(referrer_id=doctor.id), by=None)
    make_meeting(starts_at=datetime(2026, 12, 8, 17, 0, tzinfo=PARIS))  # not theirs
    cancelled = make_meeting(
        starts_at=datetime(2026, 12, 15, 17, 0, tzinfo=PARIS), chair_id=doctor.id
    )
    services.cancel_meeting(cancelled, by=None)
    token = services.create_feed(doctor)
    db.session.commit()

    anonymous = app.test_client()
    listed = events(anonymous.get(f"/calendar/{token}.ics"))
    assert {str(e["UID"]) for e in listed} == {chaired.uid, presenting.uid, cancelled.uid}
    assert {str(e["STATUS"]) for e in listed} == {"CONFIRMED", "CANCELLED"}
    assert anonymous.get("/calendar/not-the-token.ics").status_code == 404

    services.revoke_feed(doctor)
    db.session.commit()
    assert anonymous.get(f"/calendar/{token}.ics").status_code == 404


def test_users_manage_their_subscription_address(client, auth):
    user = make_user()
    auth.login_as(user)
    page = soup(client.post("/account/calendar", data={"action": "create"}))
    address = page.find("input", attrs={"aria-label": "Calendar address"})["value"]
    assert "/calendar/" in address
    token = address.rsplit("/", 1)[1].removesuffix(".ics")
    assert services.feed_user(token) == user
    client.post("/account/calendar", data={"action": "revoke"})
    assert services.feed_user(token) is None


def test_creating_replacing_and_revoking_a_subscription_address_is_audited(client, auth):
    """Who made, replaced or ended a secret calendar address is in the audit
    trail; the secret itself (nor its hash) never is."""
    import json

    from sqlalchemy import select

    from tracker.core.audit import SECRET_PLACEHOLDER, AuditAction, AuditEntry

    user = make_user()
    auth.login_as(user)
    tokens = []
    for _ in range(2):
        page = soup(client.post("/account/calendar", data={"action": "create"}))
        address = page.find("input", attrs={"aria-label": "Calendar address"})["value"]
        tokens.append(address.rsplit("/", 1)[1].removesuffix(".ics"))
    client.post("/account/calendar", data={"action": "revoke"})
    entries = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "CalendarFeed", AuditEntry.entity_id == str(user.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [entry.action for entry in entries] == [
        AuditAction.INSERT,
        AuditAction.UPDATE,
        AuditAction.DELETE,
    ]
    assert {entry.actor_id for entry in entries} == {user.id}
    assert entries[1].changes["token_hash"] == [SECRET_PLACEHOLDER, SECRET_PLACEHOLDER]
    from tracker.auth.models import hash_token

    written = json.dumps([entry.changes for entry in entries])
    for token in tokens:
        assert token not in written
        assert hash_token(token) not in written

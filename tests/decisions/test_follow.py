"""Following a meeting from one's own screen: the case the room is on, read-only."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.factories import PASSWORD, make_decision, make_user, running_meeting
from tests.html import soup, text
from tracker.core.audit import AuditAction, AuditEntry
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import Meeting
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")


def current_item_id(meeting: Meeting) -> int | None:
    return db.session.scalar(select(Meeting.current_item_id).where(Meeting.id == meeting.id))


def follow_views(referral_id: int, by: int) -> int:
    """The openings of a case recorded for one reader (meeting mode records the
    chair's own)."""
    return len(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == AuditAction.VIEW,
                AuditEntry.entity_type == "Referral",
                AuditEntry.referral_id == referral_id,
                AuditEntry.actor_id == by,
            )
        ).all()
    )


def access_entries_of(user_id: int) -> int:
    return len(db.session.scalars(select(AuditEntry).where(AuditEntry.actor_id == user_id)).all())


def test_the_follow_page_shows_the_case_the_chair_opened(app, client, auth):
    meeting = running_meeting(3)
    first, second, third = meeting.agenda
    make_decision(first)
    chair = app.test_client()
    chair.post("/login", data={"email": meeting.chair.email, "password": PASSWORD})
    # The newest entry so far (ids, not a count: a sequence is not reset by rollbacks).
    last_before = db.session.scalar(select(db.func.max(AuditEntry.id))) or 0

    assert chair.get(f"/meetings/{meeting.id}/mode?item={second.id}").status_code == 200
    assert current_item_id(meeting) == second.id
    # Where the room is is not clinical data: nothing in the trail for it.
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.id > last_before)).all()
    assert not [entry for entry in entries if entry.entity_type == "Meeting"]

    follower = make_user(roles={Role.CLINICIAN})
    auth.login_as(follower)
    page = soup(client.get(f"/meetings/{meeting.id}/follow"))
    words = text(page)
    case = page.select_one("#follow-case-title")
    assert second.referral.case_number in case.get_text()
    assert "Now discussing: case 2 of 3" in words
    assert second.referral.question in words
    # No patient name on a page made to be seen across the room.
    assert second.referral.patient.last_name.upper() not in words.upper()
    agenda = page.select("#follow-agenda li")
    assert [item.get("aria-current") for item in agenda] == [None, "step", None]
    assert "decided" in agenda[0].get_text()
    decisions = page.select("#follow-decisions li")
    assert len(decisions) == 1
    assert first.referral.case_number in decisions[0].get_text()
    assert page.select_one("script[src$='js/follow.js']") is not None
    assert page.select_one("#follow-refresh")["href"] == f"/meetings/{meeting.id}/follow"
    live = page.select_one("#follow-live")["data-refresh-url"]
    assert live == f"/meetings/{meeting.id}/follow/live"
    assert follow_views(second.referral_id, follower.id) == 1

    # The chair moves on: the fragment shows the next case, recorded as opened once.
    chair.get(f"/meetings/{meeting.id}/mode?item={third.id}")
    fragment = soup(client.get(f"{live}?seen={second.id}"))
    assert third.referral.case_number in fragment.select_one("#follow-case-title").get_text()
    assert fragment.select_one("[data-current-item]")["data-current-item"] == str(third.id)
    assert follow_views(third.referral_id, follower.id) == 1
    # Fetched again, the same case: nothing more is recorded, not even the agenda.
    reads = access_entries_of(follower.id)
    client.get(f"{live}?seen={third.id}")
    assert follow_views(third.referral_id, follower.id) == 1
    assert access_entries_of(follower.id) == reads


def test_only_recorders_move_the_room_and_only_by_opening_a_case(app, client, auth):
    meeting = running_meeting(2)
    first, second = meeting.agenda
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    client.get(f"/meetings/{meeting.id}/mode?item={second.id}")
    assert current_item_id(meeting) is None
    auth.logout()
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    client.get(f"/meetings/{meeting.id}/mode")  # the first case to decide, not chosen
    assert current_item_id(meeting) is None
    client.get(f"/meetings/{meeting.id}/mode?item={first.id}")
    assert current_item_id(meeting) == first.id
    meeting_services.hold_meeting(meeting, by=None)
    db.session.commit()
    assert current_item_id(meeting) is None
    held = db.session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "Meeting", AuditEntry.entity_id == str(meeting.id)
        )
    ).all()
    assert held
    assert all("current_item_id" not in entry.changes for entry in held)
    assert "The meeting is over." in text(soup(client.get(f"/meetings/{meeting.id}/follow")))


def test_the_links_to_follow_the_meeting(client, auth):
    meeting = running_meeting(1)
    auth.login_as(make_user(roles={Role.RADIOLOGIST}))
    for url in (f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/mode"):
        links = soup(client.get(url)).find_all("a", string="Follow the meeting (read-only)")
        assert [link["href"] for link in links] == [f"/meetings/{meeting.id}/follow"], url


def test_the_follow_page_in_french(client, auth):
    meeting = running_meeting(1)
    auth.login_as(make_user(roles={Role.CLINICIAN}, locale="fr"))
    words = text(soup(client.get(f"/meetings/{meeting.id}/follow")))
    assert "Le président de séance n\u2019a encore ouvert aucun dossier." in words
    assert "Actualiser" in words


def test_only_the_team_follows_the_meeting(client, auth):
    meeting = running_meeting(1)
    for url in (f"/meetings/{meeting.id}/follow", f"/meetings/{meeting.id}/follow/live"):
        assert client.get(url).status_code == 302, url
    auth.login_as(make_user(roles={Role.ADMIN}))
    for url in (f"/meetings/{meeting.id}/follow", f"/meetings/{meeting.id}/follow/live"):
        assert client.get(url).status_code == 403, url
    auth.logout()
    auth.login_as(make_user(roles={Role.CLINICIAN}))
    assert client.get("/meetings/999999/follow").status_code == 404


def test_following_runs_the_same_queries_with_5_and_40_cases(client, auth, count_queries):
    small, large = (
        running_meeting(5),
        running_meeting(40, starts_at=datetime(2026, 12, 1, 17, 0, tzinfo=PARIS), capacity=50),
    )
    recorder = make_user(roles={Role.COORDINATOR})
    auth.login_as(recorder)
    for meeting in (small, large):
        make_decision(meeting.agenda[0])
        make_decision(meeting.agenda[1], validate=False)
        client.get(f"/meetings/{meeting.id}/mode?item={meeting.agenda[2].id}")
    counts = []
    for meeting in (small, large):
        for url in (f"/meetings/{meeting.id}/follow", f"/meetings/{meeting.id}/follow/live"):
            with count_queries() as counter:
                assert client.get(url).status_code == 200
            counts.append(counter.count)
    assert counts[:2] == counts[2:]
    assert max(counts) <= 12

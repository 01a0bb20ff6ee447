"""A meeting starts no earlier than the day it is scheduled for (at the site),
unless someone says why; the reason is kept, and so audited."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import make_meeting, make_user
from tracker.core.audit import AuditAction, AuditEntry
from tracker.extensions import db
from tracker.meetings import services
from tracker.meetings.models import MeetingStatus
from tracker.meetings.rules import starts_before_its_day
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
DECEMBER_15 = datetime(2026, 12, 15, 17, 0, tzinfo=PARIS)


@pytest.fixture
def coordinator():
    return make_user(roles={Role.COORDINATOR})


def test_the_rule_compares_days():
    assert starts_before_its_day(date(2026, 12, 15), date(2026, 12, 1))
    assert not starts_before_its_day(date(2026, 12, 15), date(2026, 12, 15))
    assert not starts_before_its_day(date(2026, 12, 15), date(2026, 12, 16))


def test_a_meeting_does_not_start_or_close_before_its_day(app, clock, coordinator):
    meeting = make_meeting(starts_at=DECEMBER_15)
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with pytest.raises(services.TooEarly) as refused:
        services.start_meeting(meeting, by=coordinator)
    assert "15 Dec 2026" in str(refused.value)
    assert refused.value.field == "early_reason"
    with pytest.raises(services.TooEarly):
        services.start_meeting(meeting, by=coordinator, early_reason="   ")
    with pytest.raises(services.TooEarly):
        services.hold_meeting(meeting, by=coordinator)
    assert meeting.status is MeetingStatus.PLANNED


def test_a_reason_lets_it_start_early_and_is_audited(app, clock, coordinator):
    meeting = make_meeting(starts_at=DECEMBER_15)
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    services.start_meeting(meeting, by=coordinator, early_reason="Brought forward: surgeon away")
    db.session.commit()
    assert meeting.status is MeetingStatus.IN_PROGRESS
    assert meeting.early_start_reason == "Brought forward: surgeon away"
    change = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "Meeting", AuditEntry.action == AuditAction.UPDATE)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert change.changes["early_start_reason"] == [None, "Brought forward: surgeon away"]
    # Started with its reason, it may then close.
    services.hold_meeting(meeting, by=coordinator)
    assert meeting.status is MeetingStatus.HELD


def test_its_day_is_the_sites_day(app, clock, coordinator):
    meeting = make_meeting(starts_at=DECEMBER_15)
    # 23:30 UTC on the 14th is already the 15th in Paris.
    clock.set(datetime(2026, 12, 14, 23, 30, tzinfo=UTC))
    services.start_meeting(meeting, by=coordinator)
    assert meeting.status is MeetingStatus.IN_PROGRESS
    assert meeting.early_start_reason is None


def test_the_page_asks_for_the_reason_and_refuses_without_it(app, client, auth, clock):
    meeting = make_meeting(starts_at=DECEMBER_15)
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    auth.login_as(make_user(roles={Role.COORDINATOR}))
    page = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert 'name="early_reason"' in page
    response = client.post(f"/meetings/{meeting.id}/start", follow_redirects=True)
    assert "say why it starts before its day" in response.get_data(as_text=True)
    db.session.expire_all()
    assert meeting.status is MeetingStatus.PLANNED
    response = client.post(
        f"/meetings/{meeting.id}/start", data={"early_reason": "Brought forward"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/meetings/{meeting.id}/mode")
    db.session.expire_all()
    assert meeting.status is MeetingStatus.IN_PROGRESS
    assert meeting.early_start_reason == "Brought forward"

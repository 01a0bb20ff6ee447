"""Background jobs of meetings: reminders before, roll-over after."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.auth.notify import Notice, notify_all
from tracker.auth.rules import MailKind, may_email_sql
from tracker.core.errors import DomainError
from tracker.core.scheduler import JobSpec
from tracker.core.time import to_local
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import OPEN, AgendaItem, ItemState, Meeting, MeetingStatus
from tracker.meetings.settings import REMINDER_DAYS, ROLLOVER_HOURS
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)


def meetings(now: datetime) -> dict[str, int]:
    reminded = _remind(now)
    rolled = 0
    ended_before = now - timedelta(hours=ROLLOVER_HOURS.value)
    # A meeting entered after the fact gets the same time after its entry, so
    # that its agenda and decisions can be recorded before it closes.
    candidates = db.session.scalars(
        select(Meeting).where(
            Meeting.status.in_(list(OPEN)),
            Meeting.starts_at < ended_before,
            Meeting.created_at < ended_before,
        )
    ).all()
    closed = 0
    for meeting in candidates:
        if meeting.ends_at >= ended_before:
            continue
        try:
            moved = meeting_services.hold_meeting(meeting, by=None)
            rolled += sum(1 for case in moved if case.meeting is not None)
        except DomainError:
            continue  # closed meanwhile by its coordinator or another scheduler
        closed += 1
        logger.info("Meeting %s closed by the scheduler after its end", meeting.id)
    return {"reminders": reminded, "meetings_closed": closed, "cases_rolled_over": rolled}


def _remind(now: datetime) -> int:
    horizon = now + timedelta(days=REMINDER_DAYS.value)
    coming = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > now,
            Meeting.starts_at <= horizon,
        )
        .options(
            joinedload(Meeting.items).joinedload(AgendaItem.referral),
            joinedload(Meeting.chair),
            joinedload(Meeting.coordinator),
        )
    ).unique()
    # Whom to remind for each meeting, then every account in one query and
    # every message in one statement: the same queries for one meeting or ten.
    audiences: list[tuple[Meeting, list[AgendaItem], dict[int, set[str]]]] = []
    for meeting in coming:
        pending = [item for item in meeting.items if item.state is ItemState.PENDING]
        people: dict[int, set[str]] = defaultdict(set)
        for item in pending:
            if item.presenter_id:
                people[item.presenter_id].add(item.referral.case_number)
            if item.referral.referrer_id:
                people.setdefault(item.referral.referrer_id, set())
        for user_id in (meeting.chair_id, meeting.coordinator_id):
            if user_id:
                people.setdefault(user_id, set())
        audiences.append((meeting, pending, people))
    wanted = {user_id for _, _, people in audiences for user_id in people}
    users = (
        {
            user.id: user
            for user in db.session.scalars(
                select(User)
                .where(User.id.in_(wanted), may_email_sql(User, MailKind.MEETING_REMINDERS))
                .order_by(User.id)
            )
        }
        if wanted
        else {}
    )
    return notify_all(
        Notice(
            user,
            f"meeting-reminder:{meeting.id}:{user.id}:{to_local(meeting.starts_at):%Y%m%d%H%M}",
            "meeting_reminder",
            _l("RCP Tracker: coming meeting"),
            {
                "meeting": meeting,
                "cases": [item.referral.case_number for item in pending],
                "presenting": sorted(people[user.id]),
                "link": external_url("meetings.show", meeting_id=meeting.id),
            },
        )
        for meeting, pending, people in audiences
        for user in (users[user_id] for user_id in sorted(people) if user_id in users)
    )


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "meetings",
        meetings,
        lambda zone: IntervalTrigger(minutes=15, timezone=zone),
        _l("Remind presenters and team before meetings; roll over cases after them"),
    ),
]

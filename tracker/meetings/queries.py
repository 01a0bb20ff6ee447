"""Reading meetings: the calendar, one meeting's page, the calendar feeds."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.auth.models import User
from tracker.cases.models import Referral
from tracker.cases.queries import search_condition
from tracker.cases.rules import CaseStatus
from tracker.core.time import site_timezone, utcnow
from tracker.extensions import db
from tracker.meetings.models import (
    OPEN,
    AgendaItem,
    Attendance,
    ItemState,
    Meeting,
    MeetingSeries,
)

#: How far back a calendar subscription reaches.
FEED_PAST = timedelta(days=180)


def _listed(series_id: int | None = None) -> Select[Any]:
    """Meetings as the calendar lists them (title, chair, case count, status),
    of one series when ``series_id`` is given: a fixed number of queries."""
    query = select(Meeting).options(joinedload(Meeting.chair), selectinload(Meeting.items))
    if series_id is not None:
        query = query.where(Meeting.series_id == series_id)
    return query


def upcoming_query(series_id: int | None = None) -> Select[Any]:
    return (
        _listed(series_id)
        .where(Meeting.starts_at >= utcnow() - timedelta(hours=12))
        .order_by(Meeting.starts_at, Meeting.id)
    )


def past_query(series_id: int | None = None) -> Select[Any]:
    return (
        _listed(series_id)
        .where(Meeting.starts_at < utcnow() - timedelta(hours=12))
        .order_by(Meeting.starts_at.desc(), Meeting.id.desc())
    )


def month_meetings(first_day: date, series_id: int | None = None) -> list[Meeting]:
    """Meetings of the month that starts on ``first_day`` (site time)."""
    zone = site_timezone()
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    next_month = (first_day.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = datetime.combine(next_month, datetime.min.time(), tzinfo=zone)
    return list(
        db.session.scalars(
            _listed(series_id)
            .where(Meeting.starts_at >= start, Meeting.starts_at < end)
            .order_by(Meeting.starts_at, Meeting.id)
        )
    )


def series_list() -> list[tuple[MeetingSeries, datetime]]:
    """Every series with its first meeting's start, latest series first (one query)."""
    rows = db.session.execute(
        select(MeetingSeries, func.min(Meeting.starts_at))
        .join(Meeting, Meeting.series_id == MeetingSeries.id)
        .group_by(MeetingSeries.id)
        .order_by(MeetingSeries.created_at.desc(), MeetingSeries.id.desc())
    ).all()
    return [(series, first) for series, first in rows]


def meeting_page_query(meeting_id: int) -> Select[Meeting]:
    """A meeting with everything its page shows, in a fixed number of queries."""
    return (
        select(Meeting)
        .where(Meeting.id == meeting_id)
        .options(
            joinedload(Meeting.chair),
            joinedload(Meeting.coordinator),
            joinedload(Meeting.attendance_validated_by),
            selectinload(Meeting.items).options(
                joinedload(AgendaItem.presenter),
                joinedload(AgendaItem.referral).options(
                    joinedload(Referral.patient),
                    joinedload(Referral.indication),
                    joinedload(Referral.referrer),
                    joinedload(Referral.previous),
                ),
            ),
            selectinload(Meeting.attendance).joinedload(Attendance.user),
        )
    )


def schedulable(search: str | None, limit: int = 30) -> list[Referral]:
    """Complete referrals waiting for a meeting (or postponed after one), urgent
    then oldest first, optionally matching a search."""
    from tracker.cases.queries import ORDERINGS

    query = (
        select(Referral)
        .where(Referral.status.in_([CaseStatus.REFERRED, CaseStatus.DISCUSSED]))
        .where(
            ~select(AgendaItem.id)
            .where(AgendaItem.referral_id == Referral.id, AgendaItem.state == ItemState.PENDING)
            .exists()
        )
        .options(joinedload(Referral.patient), joinedload(Referral.indication))
        .order_by(*ORDERINGS["urgent"])
        .limit(limit)
    )
    if search:
        query = query.where(search_condition(search))
    return list(db.session.scalars(query))


def other_open_meetings(meeting: Meeting, limit: int = 12) -> list[Meeting]:
    return list(
        db.session.scalars(
            select(Meeting)
            .where(
                Meeting.status.in_(list(OPEN)),
                Meeting.id != meeting.id,
                Meeting.starts_at >= utcnow() - timedelta(hours=12),
            )
            .order_by(Meeting.starts_at)
            .limit(limit)
        )
    )


def feed_meetings(user: User) -> list[Meeting]:
    """Meetings a user chairs, coordinates, presents at or attended."""
    involved = or_(
        Meeting.chair_id == user.id,
        Meeting.coordinator_id == user.id,
        Meeting.id.in_(
            select(AgendaItem.meeting_id).where(
                AgendaItem.presenter_id == user.id, AgendaItem.state != ItemState.REMOVED
            )
        ),
        Meeting.id.in_(select(Attendance.meeting_id).where(Attendance.user_id == user.id)),
    )
    return list(
        db.session.scalars(
            select(Meeting)
            .where(involved, Meeting.starts_at >= utcnow() - FEED_PAST)
            .options(selectinload(Meeting.items).joinedload(AgendaItem.referral))
            .order_by(Meeting.starts_at)
        )
    )


def coming_items_for(user: User, limit: int = 15) -> list[AgendaItem]:
    """A radiologist's cases on coming agendas: the ones they present or referred."""
    return list(
        db.session.scalars(
            select(AgendaItem)
            .join(AgendaItem.meeting)
            .join(AgendaItem.referral)
            .where(
                AgendaItem.state == ItemState.PENDING,
                Meeting.status.in_(list(OPEN)),
                or_(AgendaItem.presenter_id == user.id, Referral.referrer_id == user.id),
            )
            .options(
                joinedload(AgendaItem.meeting),
                joinedload(AgendaItem.referral).joinedload(Referral.patient),
            )
            .order_by(Meeting.starts_at, AgendaItem.position)
            .limit(limit)
        )
    )

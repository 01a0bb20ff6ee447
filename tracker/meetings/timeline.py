"""What meetings add to a case's timeline: each agenda it was on, and how it went."""

from __future__ import annotations

from flask import url_for
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.cases.timeline import TimelineEvent
from tracker.core.time import to_local
from tracker.extensions import db
from tracker.meetings.models import AgendaItem, ItemState


def agenda_events(referral: Referral) -> list[TimelineEvent]:
    items = db.session.scalars(
        select(AgendaItem)
        .where(AgendaItem.referral_id == referral.id)
        .options(joinedload(AgendaItem.meeting), joinedload(AgendaItem.presenter))
    )
    events = []
    for item in items:
        meeting = item.meeting
        day = format_date(to_local(meeting.starts_at).date(), "d MMM y")
        link = url_for("meetings.show", meeting_id=meeting.id)
        presenter = item.presenter.full_name if item.presenter else None
        events.append(
            TimelineEvent(
                at=item.created_at,
                kind="meeting",
                title=_("On the agenda of the meeting of %(date)s", date=day),
                detail=_("Presented by %(name)s", name=presenter) if presenter else None,
                link=link,
                covers=CaseStatus.SCHEDULED.name,
            )
        )
        changed_at = item.state_changed_at or item.created_at
        if item.state is ItemState.NOT_DISCUSSED:
            events.append(
                TimelineEvent(
                    at=changed_at,
                    kind="meeting",
                    title=_("Not discussed at the meeting of %(date)s", date=day),
                    detail=_("Carried over to the next meeting, or back to the waiting list."),
                    link=link,
                )
            )
        elif item.state is ItemState.REMOVED:
            events.append(
                TimelineEvent(
                    at=changed_at,
                    kind="meeting",
                    title=_("Removed from the agenda of the meeting of %(date)s", date=day),
                    link=link,
                )
            )
        elif item.state is ItemState.DISCUSSED:
            events.append(
                TimelineEvent(
                    at=changed_at,
                    kind="meeting",
                    title=_("Discussed at the meeting of %(date)s", date=day),
                    link=link,
                    covers=CaseStatus.DISCUSSED.name,
                )
            )
    return events

"""A case's story on one page, gathered from every feature that adds to it.

Each feature registers a provider returning the events it knows for a
referral (one query each), so the case page runs a fixed number of queries
however long the story.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.cases.models import CaseEvent, CaseEventKind, Referral
from tracker.core import signals
from tracker.core.time import site_timezone, to_local
from tracker.extensions import db


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    #: A short category used for the icon/colour: referral, status, meeting...
    kind: str
    title: str
    detail: str | None = None
    actor: str | None = None
    link: str | None = None
    #: A fact known to the day (a procedure date): shown without a time.
    date_only: bool = False
    #: The case status this event tells as well (the agenda event of a meeting
    #: tells "scheduled"): that status change is then not listed apart.
    covers: str | None = None
    #: For a status change: the status reached (its name).
    status: str | None = None


def start_of_day(day: date) -> datetime:
    """A fact known to the day, placed at the start of that day at the site."""
    return datetime.combine(day, time.min, tzinfo=site_timezone())


Provider = Callable[[Referral], Iterable[TimelineEvent]]


def in_story_order(event: TimelineEvent) -> tuple[date, bool, datetime]:
    """A case's events in the order they happened: by day at the site; within a
    day, a fact known only to the day (the patient informed, a procedure) after
    the events of that day with a time, which it follows in the story."""
    return (to_local(event.at).date(), event.date_only, event.at)


def timeline_for(referral: Referral) -> list[TimelineEvent]:
    """Newest first, from every feature's ``signals.timeline_providers``; one
    entry per event (a status change told by another event is left out)."""
    providers: list[Provider] = signals.collected(signals.timeline_providers)
    events = [event for provider in providers for event in provider(referral)]
    covered = {event.covers for event in events if event.covers}
    events = [event for event in events if event.status is None or event.status not in covered]
    return sorted(events, key=in_story_order, reverse=True)


def case_events(referral: Referral) -> list[TimelineEvent]:
    rows = db.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.referral_id == referral.id)
        .options(joinedload(CaseEvent.actor))
    )
    return [_describe(row) for row in rows]


def _describe(event: CaseEvent) -> TimelineEvent:
    actor = event.actor.full_name if event.actor else None
    if event.kind is CaseEventKind.STATUS_CHANGED and event.to_status is not None:
        return TimelineEvent(
            at=event.occurred_at,
            kind="status",
            title=event.to_status.label,
            detail=event.note,
            actor=actor,
            status=event.to_status.name,
        )
    return TimelineEvent(
        at=event.occurred_at,
        kind=event.kind.value,
        title=event.kind.label,
        detail=event.note,
        actor=actor,
    )

"""Meeting rules that need no database: quorum, series dates, public holidays,
clashes, agenda load and the time each case starts.

The quorum's SQL form is built beside the Python one; ``tests/meetings/
test_rules_in_sql.py`` holds the two equal through the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.easter import easter
from dateutil.rrule import WEEKLY, rrule
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, case, func

from tracker.core.errors import DomainError
from tracker.core.specialties import PHYSICIAN_SPECIALTIES, Specialty

#: The quorum asks for physicians of different specialties: nurses and
#: "other" (coordinators, secretaries) are welcome but do not count.
NOT_COUNTED_FOR_QUORUM = frozenset(Specialty) - PHYSICIAN_SPECIALTIES

#: A series may not run further ahead than this.
MAX_SERIES_SPAN = timedelta(days=2 * 366)
MAX_SERIES_MEETINGS = 110


@dataclass(frozen=True)
class Quorum:
    minimum: int
    #: Distinct specialties that count, in a stable order.
    specialties: tuple[Specialty, ...]

    @property
    def count(self) -> int:
        return len(self.specialties)

    @property
    def is_met(self) -> bool:
        return self.count >= self.minimum

    @property
    def missing(self) -> int:
        return max(0, self.minimum - self.count)


def quorum(present: Iterable[Specialty], minimum: int) -> Quorum:
    """At least ``minimum`` distinct physician specialties present (HAS method sheet):
    two doctors of one specialty count once; guests count like members."""
    counted = {specialty for specialty in present if specialty not in NOT_COUNTED_FOR_QUORUM}
    order = list(Specialty)
    return Quorum(minimum, tuple(sorted(counted, key=order.index)))


def quorum_met_sql(specialty: Any, minimum: int) -> ColumnElement[bool]:
    """``quorum(...).is_met`` in SQL, over the attendance rows of each group (a
    meeting): a HAVING condition."""
    not_counted = sorted(NOT_COUNTED_FOR_QUORUM, key=lambda specialty: specialty.name)
    counted = case((specialty.not_in(not_counted), specialty))
    return func.count(func.distinct(counted)) >= minimum


def series_starts(
    first_on: date,
    start: time,
    zone: ZoneInfo,
    *,
    interval_weeks: int,
    count: int | None = None,
    until: date | None = None,
) -> list[datetime]:
    """The start (in UTC) of each meeting of a series.

    The recurrence runs on the wall clock of the site: a meeting at 17:00
    stays at 17:00 local time across daylight-saving changes.
    """
    if count is None and until is None:
        raise DomainError(_l("Say how many meetings, or until when."), "count")
    if interval_weeks < 1:
        raise DomainError(_l("Choose how often the meetings take place."), "interval_weeks")
    if until is not None and until < first_on:
        raise DomainError(_l("The series ends before its first meeting."), "until")
    local_first = datetime.combine(first_on, start)
    rule = rrule(
        WEEKLY,
        interval=interval_weeks,
        dtstart=local_first,
        count=count,
        until=datetime.combine(until, time.max) if until else None,
    )
    starts = list(rule)
    if not starts:
        raise DomainError(_l("This series has no meeting."), "count")
    if len(starts) > MAX_SERIES_MEETINGS or starts[-1] - local_first > MAX_SERIES_SPAN:
        raise DomainError(
            _l("A series may cover two years at most."), "until" if until else "count"
        )
    return [moment.replace(tzinfo=zone).astimezone(UTC) for moment in starts]


#: French public holidays on a fixed date (Code du travail, art. L3133-1).
FIXED_HOLIDAYS = {
    (1, 1): _l("New Year's Day"),
    (5, 1): _l("Labour Day"),
    (5, 8): _l("Victory in Europe Day"),
    (7, 14): _l("Bastille Day"),
    (8, 15): _l("Assumption"),
    (11, 1): _l("All Saints' Day"),
    (11, 11): _l("Armistice Day"),
    (12, 25): _l("Christmas Day"),
}

#: Public holidays that follow Easter Sunday, in days after it.
EASTER_HOLIDAYS = {
    1: _l("Easter Monday"),
    39: _l("Ascension Day"),
    50: _l("Whit Monday"),
}


def french_public_holidays(year: int) -> dict[date, Any]:
    """The eleven public holidays of metropolitan France in ``year``, with their names.

    (Alsace-Moselle's Good Friday and 26 December, and the overseas abolition
    days, are local: not included.)
    """
    holidays = {date(year, month, day): name for (month, day), name in FIXED_HOLIDAYS.items()}
    sunday = easter(year)
    for offset, name in EASTER_HOLIDAYS.items():
        holidays[sunday + timedelta(days=offset)] = name
    return holidays


def public_holiday(day: date) -> Any | None:
    """The name of the French public holiday falling on ``day``, or None."""
    return french_public_holidays(day.year).get(day)


def overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    """Two time spans overlap (one ending as the other starts does not)."""
    return start < other_end and other_start < end


def next_occurrence(last: datetime, interval_weeks: int, now: datetime) -> datetime:
    """The first start after ``now`` on the rhythm of ``last`` (same weekday and
    wall-clock time, every ``interval_weeks`` weeks). Naive local times."""
    step = timedelta(weeks=max(1, interval_weeks))
    following = last + step
    if following <= now:
        following += step * ((now - following) // step + 1)
    return following


@dataclass(frozen=True)
class AgendaLoad:
    cases: int
    capacity: int
    minutes: int
    duration: int

    @property
    def is_full(self) -> bool:
        return self.cases >= self.capacity

    @property
    def over_time(self) -> int:
        """Minutes the agenda runs beyond the meeting's planned end (0 if none)."""
        return max(0, self.minutes - self.duration)


def agenda_load(item_minutes: Iterable[int], capacity: int, duration: int) -> AgendaLoad:
    minutes = list(item_minutes)
    return AgendaLoad(len(minutes), capacity, sum(minutes), duration)


def case_start_times(starts_at: datetime, item_minutes: Iterable[int]) -> list[datetime]:
    """When each case starts: the meeting's start, then each case after the
    minutes given to the cases before it, in agenda order."""
    times = []
    moment = starts_at
    for minutes in item_minutes:
        times.append(moment)
        moment += timedelta(minutes=minutes)
    return times


def starts_before_its_day(scheduled_on: date, today: date) -> bool:
    """A meeting started (or closed) before the day it is scheduled for: a
    mistake, unless someone says why (brought forward, entered in advance)."""
    return today < scheduled_on

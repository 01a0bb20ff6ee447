"""Quorum and series dates: pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tracker.core.errors import DomainError
from tracker.core.specialties import Specialty as Sp
from tracker.meetings.rules import agenda_load, case_start_times, quorum, series_starts

PARIS = ZoneInfo("Europe/Paris")


def test_two_doctors_of_one_specialty_count_once():
    result = quorum(
        [Sp.INTERVENTIONAL_RADIOLOGY, Sp.INTERVENTIONAL_RADIOLOGY, Sp.ANAESTHESIOLOGY], 3
    )
    assert result.count == 2
    assert not result.is_met
    assert result.missing == 1


def test_three_specialties_make_the_quorum():
    result = quorum([Sp.INTERVENTIONAL_RADIOLOGY, Sp.PAIN_MEDICINE, Sp.SURGERY], 3)
    assert result.is_met
    assert result.specialties == (Sp.INTERVENTIONAL_RADIOLOGY, Sp.PAIN_MEDICINE, Sp.SURGERY)


def test_nursing_and_other_roles_do_not_count():
    result = quorum([Sp.INTERVENTIONAL_RADIOLOGY, Sp.NURSING, Sp.OTHER, Sp.ONCOLOGY], 3)
    assert result.count == 2


def test_the_minimum_is_a_parameter():
    assert quorum([Sp.ONCOLOGY, Sp.SURGERY], 2).is_met
    assert not quorum([], 1).is_met


def local(moment: datetime) -> tuple[str, str]:
    paris = moment.astimezone(PARIS)
    return paris.date().isoformat(), paris.strftime("%H:%M")


def test_weekly_series_keeps_17_00_local_across_the_spring_clock_change():
    starts = series_starts(date(2026, 3, 17), time(17, 0), PARIS, interval_weeks=1, count=4)
    assert [local(moment) for moment in starts] == [
        ("2026-03-17", "17:00"),
        ("2026-03-24", "17:00"),
        ("2026-03-31", "17:00"),
        ("2026-04-07", "17:00"),
    ]
    # In UTC the meeting moves by an hour when Paris changes to summer time.
    assert [moment.hour for moment in starts] == [16, 16, 15, 15]
    assert all(moment.tzinfo is UTC for moment in starts)


def test_every_other_thursday_until_a_date_across_the_autumn_change():
    starts = series_starts(
        date(2026, 10, 15), time(17, 0), PARIS, interval_weeks=2, until=date(2026, 11, 30)
    )
    assert [local(moment) for moment in starts] == [
        ("2026-10-15", "17:00"),
        ("2026-10-29", "17:00"),
        ("2026-11-12", "17:00"),
        ("2026-11-26", "17:00"),
    ]
    assert [moment.hour for moment in starts] == [15, 16, 16, 16]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({}, "count"),
        ({"count": 120}, "count"),
        ({"until": date(2029, 1, 1)}, "until"),
        ({"until": date(2026, 1, 1)}, "until"),
        ({"count": 3, "interval_weeks": 0}, "interval_weeks"),
    ],
)
def test_series_without_an_end_or_too_long_are_refused(kwargs, field):
    kwargs = {"interval_weeks": 1, **kwargs}
    with pytest.raises(DomainError) as refused:
        series_starts(date(2026, 11, 24), time(17, 0), PARIS, **kwargs)
    assert refused.value.field == field


def test_two_years_of_weekly_meetings_is_allowed():
    starts = series_starts(date(2026, 11, 24), time(17, 0), PARIS, interval_weeks=1, count=104)
    assert len(starts) == 104


def test_agenda_load():
    load = agenda_load([10, 15, 20], capacity=3, duration=40)
    assert load.is_full
    assert load.minutes == 45
    assert load.over_time == 5
    assert agenda_load([], 12, 90).over_time == 0


# --- public holidays, clashes, the next date of a rhythm --------------------------------


def test_french_public_holidays_follow_easter():
    from tracker.meetings.rules import french_public_holidays

    holidays = french_public_holidays(2026)  # Easter Sunday: 5 April 2026
    assert len(holidays) == 11
    assert str(holidays[date(2026, 4, 6)]) == "Easter Monday"
    assert str(holidays[date(2026, 5, 14)]) == "Ascension Day"
    assert str(holidays[date(2026, 5, 25)]) == "Whit Monday"
    assert str(holidays[date(2026, 12, 25)]) == "Christmas Day"
    assert {day for day in holidays if (day.month, day.day) in {(1, 1), (7, 14), (11, 11)}} == {
        date(2026, 1, 1),
        date(2026, 7, 14),
        date(2026, 11, 11),
    }
    # Easter Sunday: 20 April 2025, 28 March 2027.
    later = french_public_holidays(2025) | french_public_holidays(2027)
    for day in (date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9), date(2027, 3, 29)):
        assert day in later, day
    assert date(2026, 4, 5) not in holidays  # Easter Sunday is a Sunday, not a holiday


def test_a_working_day_is_no_public_holiday():
    from tracker.meetings.rules import public_holiday

    assert public_holiday(date(2026, 11, 24)) is None
    assert str(public_holiday(date(2026, 11, 11))) == "Armistice Day"


def test_overlapping_spans():
    from tracker.meetings.rules import overlaps

    def span(start_hour: float, end_hour: float) -> tuple[datetime, datetime]:
        day = datetime(2026, 11, 24, tzinfo=UTC)
        return day + timedelta(hours=start_hour), day + timedelta(hours=end_hour)

    assert overlaps(*span(17, 18.5), *span(18, 19))
    assert overlaps(*span(17, 18.5), *span(17.25, 17.5))
    assert not overlaps(*span(17, 18.5), *span(18.5, 19))  # one ends as the other starts
    assert not overlaps(*span(12, 13), *span(17, 18))


def wall(*parts: int) -> datetime:
    """A wall-clock time (the rule works on the site's local times)."""
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "interval", "now", "expected"),
    [
        # Friday 20 Nov: the weekly Tuesday meeting of 10 Nov is next on 24 Nov.
        (wall(2026, 11, 10, 17), 1, wall(2026, 11, 20, 10), wall(2026, 11, 24, 17)),
        (wall(2026, 11, 10, 17), 2, wall(2026, 11, 20, 10), wall(2026, 11, 24, 17)),
        (wall(2026, 11, 17, 17), 2, wall(2026, 11, 20, 10), wall(2026, 12, 1, 17)),
        # The last meeting is still ahead: the next one follows it.
        (wall(2026, 12, 8, 17), 1, wall(2026, 11, 20, 10), wall(2026, 12, 15, 17)),
        # On the day: before the meeting's time it is today, at or after it next week.
        (wall(2026, 11, 17, 17), 1, wall(2026, 11, 24, 16), wall(2026, 11, 24, 17)),
        (wall(2026, 11, 17, 17), 1, wall(2026, 11, 24, 17), wall(2026, 12, 1, 17)),
    ],
)
def test_the_next_date_of_a_rhythm(last, interval, now, expected):
    from tracker.meetings.rules import next_occurrence

    assert next_occurrence(last, interval, now) == expected


def test_each_case_starts_after_the_minutes_of_the_cases_before_it():
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    times = case_start_times(start, [10, 15, 20])
    assert [moment.strftime("%H:%M") for moment in times] == ["16:00", "16:10", "16:25"]
    assert case_start_times(start, []) == []

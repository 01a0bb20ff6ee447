"""The follow-ups planned after a procedure and the windows of their time points:
pure rules, shared by the service that records procedures, the assessments that
fulfil them and the synthetic data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.followups.rules import (
    DEFAULT_SCHEDULE,
    PlannedCheck,
    WindowError,
    check_windows,
    default_window,
    followup_plan,
    format_windows,
    fulfilled_by,
    out_of_window,
    parse_windows,
    regrowth_window,
    still_open,
)

TREATED = date(2026, 3, 2)


def day(n: int) -> date:
    return TREATED + timedelta(days=n)


def test_one_check_per_time_point_of_the_schedule_each_with_its_window():
    assert followup_plan(TREATED, (7, 30), None) == [
        PlannedCheck(7, day(7), (day(5), day(11))),
        PlannedCheck(30, day(30), (day(23), day(44))),
    ]


def test_the_default_windows_are_the_domain_conventions():
    # week 1 -2/+4, month 1 -7/+14, month 3 -14/+30, month 6 -30/+30, year 1 -30/+60
    assert [default_window(days) for days in DEFAULT_SCHEDULE] == [
        (-2, 4),
        (-7, 14),
        (-14, 30),
        (-30, 30),
        (-30, 60),
    ]


def test_a_technique_s_own_windows_replace_the_defaults():
    plan = followup_plan(TREATED, (7, 91), None, [[-1, 1], [-20, 40]])
    assert [check.window for check in plan] == [(day(6), day(8)), (day(71), day(131))]


def test_a_window_never_opens_on_the_day_of_the_procedure():
    (check,) = followup_plan(TREATED, (2,), None)
    assert check.window == (day(1), day(6))


def test_a_nerve_treatment_gets_one_more_check_in_the_middle_of_the_regrowth_window():
    window = regrowth_window(TREATED, 60, 3, 1)  # days 20 to 60
    *scheduled, regrowth = followup_plan(TREATED, (91,), window)
    assert scheduled == [PlannedCheck(91, day(91), (day(77), day(121)))]
    assert regrowth == PlannedCheck(40, day(40), window, regrowth=True)


def test_no_schedule_and_no_window_plan_nothing():
    assert followup_plan(TREATED, (), None) == []


# --- windows typed by the admin ------------------------------------------------------


def test_windows_are_read_signed_and_written_back_the_same():
    schedule = (7, 30, 91)
    windows = parse_windows("-2/+4, 7/14; -14/+30", schedule)
    assert windows == [[-2, 4], [-7, 14], [-14, 30]]
    assert format_windows(windows) == "-2/+4, -7/+14, -14/+30"
    assert parse_windows(format_windows(windows), schedule) == windows


@settings(max_examples=300, derandomize=True, database=None)
@given(st.lists(st.tuples(st.integers(-366, 0), st.integers(0, 366)), min_size=1, max_size=24))
def test_any_valid_windows_survive_the_text_round_trip(pairs):
    windows = [list(pair) for pair in pairs]
    schedule = list(range(1, len(windows) + 1))
    assert parse_windows(format_windows(windows), schedule) == windows


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("+2/+4", "outside"),  # opens after its due date
        ("-7/-2", "outside"),  # closes before it
        ("7-14", "unreadable"),
        ("-7/+14, -7/+14", "count"),
        ("-400/+4", "too_wide"),
    ],
)
def test_a_window_that_does_not_contain_its_due_date_is_refused(text, code):
    with pytest.raises(WindowError) as raised:
        parse_windows(text, (30,))
    assert raised.value.code == code
    assert str(raised.value.message)


def test_stored_windows_are_checked_as_typed_ones():
    with pytest.raises(WindowError):
        check_windows((7,), [[3, 4]])
    assert check_windows((7,), [[0, 0]]) == [[0, 0]]


# --- which time point an assessment fulfils ---------------------------------------------


@dataclass
class Check:
    due_on: date
    window_start_on: date | None
    window_end_on: date | None


def test_an_assessment_in_a_window_fulfils_that_time_point():
    month1, month3 = Check(day(30), day(23), day(44)), Check(day(91), day(77), day(121))
    assert fulfilled_by(day(40), [month1, month3]) is month1
    assert fulfilled_by(day(80), [month1, month3]) is month3


def test_where_windows_overlap_the_nearest_due_date_wins_the_earlier_on_a_tie():
    early, late = Check(day(10), day(0), day(30)), Check(day(20), day(0), day(30))
    assert fulfilled_by(day(14), [late, early]) is early
    assert fulfilled_by(day(16), [early, late]) is late
    assert fulfilled_by(day(15), [late, early]) is early


def test_an_assessment_outside_every_window_is_unscheduled():
    month3 = Check(day(91), day(77), day(121))
    assert fulfilled_by(day(0), [month3]) is None  # "month 3" on day 0: not that time point
    assert fulfilled_by(day(150), [month3]) is None


def test_a_time_point_is_overdue_until_its_window_closes_then_out_of_window():
    end = day(44)
    assert still_open(end, day(44))
    assert not out_of_window(end, day(44))
    assert out_of_window(end, day(45))
    assert not still_open(end, day(45))
    assert still_open(None, day(400))

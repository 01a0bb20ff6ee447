"""The follow-ups planned after a procedure: a pure rule, shared by the service
that records procedures and by the synthetic data."""

from __future__ import annotations

from datetime import date, timedelta

from tracker.followups.rules import PlannedCheck, followup_plan, regrowth_window

TREATED = date(2026, 3, 2)


def test_one_check_per_time_point_of_the_schedule():
    assert followup_plan(TREATED, (7, 30), None) == [
        PlannedCheck(7, date(2026, 3, 9)),
        PlannedCheck(30, date(2026, 4, 1)),
    ]


def test_a_nerve_treatment_gets_one_more_check_in_the_middle_of_the_regrowth_window():
    window = regrowth_window(TREATED, 60, 3, 1)  # days 20 to 60
    *scheduled, regrowth = followup_plan(TREATED, (91,), window)
    assert scheduled == [PlannedCheck(91, TREATED + timedelta(days=91))]
    assert regrowth == PlannedCheck(40, TREATED + timedelta(days=40), window)


def test_no_schedule_and_no_window_plan_nothing():
    assert followup_plan(TREATED, (), None) == []

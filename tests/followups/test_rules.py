"""The retreatment rule on clinical stories, and the other follow-up rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracker.followups.rules import (
    DEFAULT_SCHEDULE,
    LAST_DAY,
    Kind,
    Reading,
    Response,
    RuleSettings,
    ScheduleError,
    Session,
    ThresholdError,
    at_least,
    check_schedule,
    check_thresholds,
    describe_day,
    format_days,
    parse_days,
    regrowth_window,
    relief_duration,
    response_category,
    retreatment_verdict,
)

TREATED = date(2026, 1, 10)
DEFAULT_RULE = RuleSettings()


def on(days: int) -> date:
    return TREATED + timedelta(days=days)


def session(
    *readings,
    baseline=8,
    grade=None,
    settings=DEFAULT_RULE,
    performed_on=TREATED,
    technique="Cryoneurolysis",
):
    return Session(
        performed_on=performed_on,
        baseline=baseline,
        readings=tuple(Reading(on(d), nrs, back) for d, nrs, back in readings),
        worst_cirse_grade=grade,
        settings=settings,
        technique=technique,
    )


def codes(verdict):
    return [reason.code for reason in verdict.reasons]


# (story, sessions, today, expected kind, expected reason codes, eligible_from)
STORIES = [
    (
        "responder who relapses after the minimum interval",
        [session((7, 4, False), (30, 2, False), (91, 3, False), (182, 6, False))],
        on(200),
        Kind.ELIGIBLE,
        ["responded", "recurrence", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "relapse too early: before six weeks",
        [session((7, 2, False), (30, 7, False))],
        on(30),
        Kind.NOT_YET,
        ["responded", "recurrence", "too_early"],
        on(42),
    ),
    (
        "the same relapse on the day the interval ends",
        [session((7, 2, False), (30, 7, False))],
        on(42),
        Kind.ELIGIBLE,
        ["responded", "recurrence", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "two consecutive sessions without response",
        [session((30, 7, False)), session((90, 8, False), performed_on=on(60))],
        on(150),
        Kind.NOT_ELIGIBLE,
        ["failed_sessions"],
        None,
    ),
    (
        "one session without response",
        [session((7, 7, False), (30, 8, False))],
        on(60),
        Kind.NO_RESPONSE,
        ["no_response", "failed_so_far"],
        None,
    ),
    (
        "CIRSE grade 3 after the last procedure",
        [session((7, 2, False), (180, 8, False), grade=3)],
        on(200),
        Kind.NOT_ELIGIBLE,
        ["severe_adverse_event"],
        None,
    ),
    (
        "CIRSE grade 2 does not block",
        [session((7, 2, False), (180, 8, False), grade=2)],
        on(200),
        Kind.ELIGIBLE,
        ["responded", "recurrence", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "partial responder still relieved",
        [session((7, 5, False), (91, 5, False), baseline=8)],
        on(100),
        Kind.RESPONDING,
        ["partial_response", "holding"],
        None,
    ),
    (
        "partial responder who relapses",
        [session((7, 5, False), (182, 7, False), baseline=8)],
        on(200),
        Kind.ELIGIBLE,
        ["partial_response", "recurrence", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "no follow-up yet",
        [session()],
        on(10),
        Kind.NOT_YET,
        ["no_assessment"],
        None,
    ),
    (
        "structural technique: relief holds",
        [
            session(
                (7, 2, False),
                (91, 3, False),
                technique="Cementoplasty",
                settings=RuleSettings(retreatable=False),
            )
        ],
        on(100),
        Kind.RESPONDING,
        ["responded", "holding"],
        None,
    ),
    (
        "structural technique: pain comes back, no regrowth to wait for",
        [
            session(
                (7, 2, False),
                (91, 8, False),
                technique="Cementoplasty",
                settings=RuleSettings(retreatable=False),
            )
        ],
        on(100),
        Kind.NOT_ELIGIBLE,
        ["responded", "recurrence", "not_retreatable"],
        None,
    ),
    (
        "exactly 50% is substantial and exactly 30% still holds",
        [session((7, 5, False), (91, 7, False), baseline=10)],
        on(100),
        Kind.RESPONDING,
        ["responded", "holding"],
        None,
    ),
    (
        "just under 30% at the latest visit is a recurrence",
        [session((7, 5, False), (91, 8, False), baseline=10)],
        on(100),
        Kind.ELIGIBLE,
        ["responded", "recurrence", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "exactly 30% at best is a (partial) response, not a failure",
        [session((30, 7, False), baseline=10)],
        on(60),
        Kind.RESPONDING,
        ["partial_response", "holding"],
        None,
    ),
    (
        "the patient says the pain is back although the score is still low",
        [session((7, 2, False), (120, 3, True))],
        on(130),
        Kind.ELIGIBLE,
        ["responded", "pain_is_back", "interval_passed", "no_severe_adverse_event"],
        None,
    ),
    (
        "a failed session after a successful one counts one failure only",
        [session((7, 2, False), (180, 8, False)), session((230, 8, False), performed_on=on(200))],
        on(260),
        Kind.NO_RESPONSE,
        ["no_response", "failed_so_far"],
        None,
    ),
    (
        "a longer interval set for the technique (botulinum toxin)",
        [session((14, 3, False), (60, 7, False), settings=RuleSettings(min_interval_days=84))],
        on(70),
        Kind.NOT_YET,
        ["responded", "recurrence", "too_early"],
        on(84),
    ),
]


@pytest.mark.parametrize(
    ("story", "sessions", "today", "kind", "reasons", "eligible_from"),
    STORIES,
    ids=[story[0] for story in STORIES],
)
def test_retreatment_stories(story, sessions, today, kind, reasons, eligible_from):
    verdict = retreatment_verdict(sessions, today)
    assert verdict.kind is kind
    assert codes(verdict) == reasons
    assert verdict.eligible_from == eligible_from


def test_partial_and_recurrence_flags():
    relapsed = retreatment_verdict([session((7, 5, False), (182, 7, False))], on(200))
    assert relapsed.partial
    assert relapsed.recurrence
    holding = retreatment_verdict([session((7, 2, False))], on(10))
    assert not holding.partial
    assert not holding.recurrence


def test_no_procedure_and_no_baseline():
    assert retreatment_verdict([], on(0)).kind is Kind.NOT_YET
    assert codes(retreatment_verdict([session((7, 2, False), baseline=0)], on(10))) == [
        "no_baseline"
    ]


def test_reasons_carry_the_figures():
    verdict = retreatment_verdict([session((7, 2, False), (91, 7, False), baseline=8)], on(100))
    responded, recurrence = verdict.reasons[:2]
    assert responded.values["best"] == 75.0
    assert responded.values["on"] == on(7)
    assert recurrence.values["latest"] == 12.5


@pytest.mark.parametrize(
    ("baseline", "nrs", "category"),
    [
        (8, 4, Response.SUBSTANTIAL),
        (10, 5, Response.SUBSTANTIAL),
        (10, 6, Response.MODERATE),
        (10, 7, Response.MODERATE),
        (10, 8, Response.MINIMAL_OR_NONE),
        (6, 6, Response.MINIMAL_OR_NONE),
        (6, 7, Response.WORSE),
        (0, 3, None),
        (None, 3, None),
    ],
)
def test_response_categories(baseline, nrs, category):
    assert response_category(baseline, nrs) is category


def test_schedules_are_read_as_whole_days():
    assert parse_days("7, 28, 90, 180, 364") == (7, 28, 90, 180, 364)
    assert parse_days("7 30 91") == (7, 30, 91)
    assert parse_days(" 730; 10 ") == (10, 730)
    assert parse_days(f"1, {LAST_DAY}") == (1, LAST_DAY)


@pytest.mark.parametrize(
    ("text", "code", "token"),
    [
        ("", "empty", ""),
        (" , ", "empty", ""),
        ("7, 7", "duplicate", "7"),
        ("7, 30, 007", "duplicate", "7"),
        ("-3", "not_after", "-3"),
        ("0", "not_after", "0"),
        ("1w", "unreadable", "1w"),
        ("3m", "unreadable", "3m"),
        ("7.5", "unreadable", "7.5"),
        ("abc", "unreadable", "abc"),
        ("99999999999", "unreadable", "99999999999"),
        (str(LAST_DAY + 1), "too_far", str(LAST_DAY + 1)),
        (", ".join(str(day) for day in range(1, 26)), "too_many", ""),
    ],
)
def test_bad_schedules_are_refused(text, code, token):
    with pytest.raises(ScheduleError) as refused:
        parse_days(text)
    assert (refused.value.code, refused.value.token) == (code, token)
    assert refused.value.message  # every refusal has its sentence


def test_a_stored_schedule_is_checked_as_days():
    assert check_schedule([30, 7]) == (7, 30)
    for bad in ([], [7, 7], [0], [7, True], ["7"]):
        with pytest.raises(ScheduleError):
            check_schedule(bad)


#: Schedules as they are stored: whole days, each once, in order.
schedules = st.lists(
    st.integers(min_value=1, max_value=LAST_DAY), min_size=1, max_size=24, unique=True
).map(sorted)


@settings(max_examples=500, derandomize=True)
@given(schedules)
def test_a_schedule_shown_and_read_back_is_the_same(days):
    assert parse_days(format_days(days)) == tuple(days)


@pytest.mark.parametrize("days", [(7, 28, 90, 180, 364), (28,), (60,), (149,), DEFAULT_SCHEDULE])
def test_the_schedules_that_moved_stay_put(days):
    assert parse_days(format_days(days)) == days


def test_time_points_in_words():
    assert [describe_day(d) for d in (7, 10, 30, 91, 182, 365)] == [
        ("week", 1),
        ("day", 10),
        ("month", 1),
        ("month", 3),
        ("month", 6),
        ("year", 1),
    ]


@pytest.mark.parametrize(
    ("responder", "partial", "recurrence", "field"),
    [
        (50, 30, 30, None),
        (50, 50, 50, None),
        (50, 30, 20, None),
        (100, 1, 1, None),
        (50, 51, 30, "partial_pct"),
        (50, 30, 31, "recurrence_pct"),
        (50, 60, 70, "partial_pct"),
    ],
)
def test_thresholds_go_recurrence_then_partial_then_response(responder, partial, recurrence, field):
    if field is None:
        check_thresholds(responder, partial, recurrence)
    else:
        with pytest.raises(ThresholdError) as refused:
            check_thresholds(responder, partial, recurrence)
        assert refused.value.field == field


def test_the_regrowth_window():
    assert regrowth_window(TREATED, 60, 3, 1) == (on(20), on(60))
    assert regrowth_window(TREATED, 60, 1, 3) == (on(20), on(60))  # rates in either order
    assert regrowth_window(TREATED, None, 3, 1) is None
    assert regrowth_window(TREATED, 0, 3, 1) is None


def _session(*readings, baseline=8, settings=None):
    from datetime import date

    from tracker.followups.rules import Reading, RuleSettings, Session

    performed = date(2026, 1, 1)
    return Session(
        performed_on=performed,
        baseline=baseline,
        readings=tuple(
            Reading(date.fromordinal(performed.toordinal() + days), nrs, back)
            for days, nrs, back in readings
        ),
        settings=settings or RuleSettings(),
    )


def test_relief_lasts_until_the_first_recurrence_after_a_response():
    from tracker.followups.rules import relief_duration

    # Baseline 8: 2 is a response, 6 (25% less) is a recurrence (below 30%).
    session = _session((7, 2, False), (30, 3, False), (91, 6, False), (183, 7, False))
    assert relief_duration(session) == (91, True)


def test_relief_without_recurrence_is_followed_to_the_last_assessment():
    from tracker.followups.rules import relief_duration

    assert relief_duration(_session((7, 3, False), (30, 4, False))) == (30, False)


def test_pain_reported_back_ends_the_relief_whatever_the_score():
    from tracker.followups.rules import relief_duration

    assert relief_duration(_session((7, 2, False), (60, 3, True))) == (60, True)


def test_no_response_or_no_baseline_has_no_relief_to_measure():
    from tracker.followups.rules import relief_duration

    assert relief_duration(_session((7, 7, False), (30, 6, False))) is None
    assert relief_duration(_session((7, 2, False), baseline=None)) is None
    assert relief_duration(_session()) is None


def test_the_relief_starts_at_a_partial_response_and_uses_the_technique_thresholds():
    from tracker.followups.rules import RuleSettings, relief_duration

    # 5 from 8 is 37.5% less: partial response; 6 is 25% less: recurrence at 30%.
    assert relief_duration(_session((7, 5, False), (30, 6, False))) == (30, True)
    # A technique that calls a recurrence only below 20% less pain.
    lenient = RuleSettings(recurrence_pct=20)
    assert relief_duration(_session((7, 5, False), (30, 6, False), settings=lenient)) == (
        30,
        False,
    )


# --- one meaning of a reading (DOMAIN "Ordering and counting readings") -------------------

RECORDED = datetime(2026, 1, 10, 9, tzinfo=UTC)

#: Readings on few days, so that several fall on one day and on the day of the
#: procedure; each recorded at a minute of its day.
_reading = st.tuples(
    st.integers(0, 10),  # days after the procedure
    st.integers(0, 10),  # NRS
    st.booleans(),  # the pain is back
    st.integers(0, 4),  # minutes after 9:00 it was recorded
)
_sessions = st.lists(
    st.tuples(
        st.none() | st.integers(0, 10),  # baseline
        st.integers(0, 2),  # readings count from this day
        st.lists(_reading, max_size=5),
    ),
    min_size=1,
    max_size=3,
)


def _generated(sessions, typed_in_reverse=False):
    """Sessions 60 days apart, each reading recorded at 9:00 plus some minutes
    on its day."""
    made = []
    for index, (baseline, counts_from, readings) in enumerate(sessions):
        performed = TREATED + timedelta(days=60 * index)
        # ``seq`` is the order of entry; the session may list them in any order.
        typed = list(enumerate(readings))
        if typed_in_reverse:
            typed.reverse()
        made.append(
            Session(
                performed_on=performed,
                baseline=baseline,
                readings=tuple(
                    Reading(
                        performed + timedelta(days=d),
                        nrs,
                        back,
                        RECORDED + timedelta(days=60 * index + d, minutes=minute),
                        seq,
                    )
                    for seq, (d, nrs, back, minute) in typed
                ),
                settings=RuleSettings(counts_from_day=counts_from),
            )
        )
    return made


@settings(max_examples=2000, derandomize=True, database=None, deadline=None)
@given(sessions=_sessions, today=st.integers(0, 300))
@example(  # baseline 8, day 30: NRS 2 recorded at 9:00, then 7 at 9:01
    sessions=[(8, 1, [(30, 2, False, 0), (30, 7, False, 1)])], today=200
)
@example(sessions=[(8, 1, [(4, 1, True, 0)])], today=200)  # NRS 1, the pain is back
@example(sessions=[(8, 1, [(0, 0, False, 0)])], today=200)  # the day of the procedure only
def test_the_verdict_is_the_definition_of_a_readings_meaning(sessions, today):
    made = _generated(sessions)
    on_day = TREATED + timedelta(days=today + 60 * len(sessions))
    verdict = retreatment_verdict(made, on_day)
    # The typing order changes nothing.
    assert retreatment_verdict(_generated(sessions, typed_in_reverse=True), on_day) == verdict

    last = made[-1]
    counted = last.counted
    # Counted: from the technique's day on, by date then by the time recorded
    # (then by the order of entry).
    assert counted == sorted(
        (
            r
            for r in last.readings
            if (r.on - last.performed_on).days >= last.settings.counts_from_day
        ),
        key=lambda r: (r.on, r.recorded_at, r.seq),
    )
    # Consecutive failures, latest first; an unknown session ends the run.
    run = 0
    for session in reversed(made):
        if session.failed is not True:
            break
        run += 1
    if run >= last.settings.max_failed_sessions:
        assert verdict.kind is Kind.NOT_ELIGIBLE
        assert codes(verdict) == ["failed_sessions"]
        return
    if last.readings and not counted:
        assert codes(verdict) == ["no_counted_assessment"]
    if not counted or not last.baseline:
        assert verdict.kind is Kind.NOT_YET
        assert not verdict.recurrence
        return
    relief = relief_duration(last)
    responded = any(
        at_least(last.baseline, r.nrs, last.settings.partial_pct) and not r.pain_is_back
        for r in counted
    )
    assert (relief is not None) == responded == (last.failed is False)
    if not responded:
        assert verdict.kind is Kind.NO_RESPONSE
        return
    latest = counted[-1]
    back = latest.pain_is_back or not at_least(
        last.baseline, latest.nrs, last.settings.recurrence_pct
    )
    assert verdict.recurrence == back
    assert verdict.kind in ((Kind.ELIGIBLE, Kind.NOT_YET) if back else (Kind.RESPONDING,))

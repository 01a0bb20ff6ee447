"""Each follow-up rule that a query needs says the same in SQL as in Python, on
generated data run through the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, select

from tests.factories import make_referral
from tests.in_sql import SAME_IN_SQL, fill, scratch_table
from tracker.extensions import db
from tracker.followups import queries
from tracker.followups.models import CaseVerdict
from tracker.followups.rules import (
    FollowUpStatus,
    Kind,
    Reading,
    RuleSettings,
    Session,
    counts_as_missed,
    counts_as_missed_sql,
    interval_passed,
    interval_passed_sql,
    is_eligible,
    is_eligible_sql,
    kind_on,
    out_of_window,
    out_of_window_sql,
    pain_back,
    pain_back_sql,
    reading_category,
    reading_category_sql,
    relief_duration,
    relief_duration_sql,
    response_category,
    response_category_sql,
    still_open,
    still_open_sql,
    waiting_for_discussion,
)

TODAY = date(2026, 11, 20)
TOLD_AT = datetime(2026, 11, 2, 5, 30, tzinfo=UTC)
PERFORMED = date(2026, 3, 2)

# --- response category ------------------------------------------------------------------

nrs = st.integers(0, 10)


@pytest.fixture
def pairs_table(app):
    return scratch_table(
        "reading_pairs",
        Column("id", Integer, primary_key=True),
        Column("baseline", Integer),
        Column("nrs", Integer),
    )


@SAME_IN_SQL
@given(pairs=st.lists(st.tuples(st.none() | nrs, nrs), min_size=1, max_size=30))
# Exactly 50% and 30% less (inclusive), worse, and no baseline or a baseline of 0.
@example(pairs=[(10, 5), (10, 7), (10, 8), (4, 5), (None, 3), (0, 0), (3, 3)])
def test_the_response_category_in_sql_is_the_rule(pairs_table, pairs):
    fill(pairs_table, [{"id": i, "baseline": b, "nrs": n} for i, (b, n) in enumerate(pairs)])
    category = response_category_sql(pairs_table.c.baseline, pairs_table.c.nrs)
    in_sql = dict(db.session.execute(select(pairs_table.c.id, category)).all())
    assert in_sql == {i: response_category(b, n) for i, (b, n) in enumerate(pairs)}


# --- relief duration ----------------------------------------------------------------------

#: Every relief and reading-category example: at least 2,000, each one a small
#: insert and one query (DOMAIN "Ordering and counting readings").
READINGS_IN_SQL = settings(SAME_IN_SQL, max_examples=2000)
RECORDED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

# Readings on few days (so that several fall on one day, and on the day of the
# procedure), each recorded at a minute of the day, in any typing order.
reading_strategy = st.tuples(
    st.integers(0, 12),  # days after the procedure
    nrs,
    st.booleans(),  # the pain is back
    st.integers(0, 5),  # minutes after 8:00 it was recorded
)
session_strategy = st.tuples(
    st.none() | nrs,  # baseline
    st.integers(0, 100),  # partial threshold
    st.integers(0, 100),  # recurrence threshold
    st.integers(0, 3),  # readings count from this day
    st.lists(reading_strategy, max_size=6),
)


def as_session(baseline, partial, recurrence, counts_from, readings) -> Session:
    """Readings in the order they were typed; ``seq`` is that order."""
    return Session(
        performed_on=PERFORMED,
        baseline=baseline,
        readings=tuple(
            Reading(
                PERFORMED + timedelta(days=d),
                n,
                back,
                RECORDED + timedelta(days=d, minutes=minute),
                seq,
            )
            for seq, (d, n, back, minute) in enumerate(readings)
        ),
        settings=RuleSettings(
            partial_pct=partial, recurrence_pct=recurrence, counts_from_day=counts_from
        ),
    )


@pytest.fixture
def readings_table(app):
    return scratch_table(
        "relief_readings",
        Column("procedure_id", Integer),
        Column("performed_on", Date),
        Column("on", Date),
        Column("recorded_at", DateTime(timezone=True)),
        Column("seq", Integer),
        Column("nrs", Integer),
        Column("back", Boolean),
        Column("baseline", Integer),
        Column("partial", Integer),
        Column("recurrence", Integer),
        Column("counts_from", Integer),
    )


@READINGS_IN_SQL
@given(sessions=st.lists(session_strategy, min_size=1, max_size=4))
# Responds at day 7, holds at 30% on day 10 (inclusive), back on day 12 by the
# patient's word whatever the score; a second one censored at its last reading.
@example(
    sessions=[
        (10, 30, 30, 1, [(7, 5, False, 0), (10, 7, False, 0), (12, 2, True, 0)]),
        (8, 30, 30, 1, [(7, 8, False, 0), (9, 5, False, 0), (11, 4, False, 0)]),
    ]
)
# Thresholds out of their usual order: the reading that starts the relief is
# itself below the recurrence threshold, and does not end it.
@example(sessions=[(10, 30, 60, 1, [(7, 6, False, 0)])])
# One day, typed 7 then 2 but 2 recorded first: the relief starts and ends that
# day; a reading on the day of the procedure (NRS 0) does not start one.
@example(
    sessions=[
        (8, 30, 30, 1, [(5, 7, False, 3), (5, 2, False, 1)]),
        (8, 30, 30, 1, [(0, 0, False, 0)]),
    ]
)
# NRS 1 with the pain back is no response.
@example(sessions=[(8, 30, 30, 1, [(4, 1, True, 0)])])
def test_the_relief_duration_in_sql_is_the_rule(readings_table, sessions):
    rows, expected = [], {}
    for procedure_id, (baseline, partial, recurrence, counts_from, readings) in enumerate(sessions):
        session = as_session(baseline, partial, recurrence, counts_from, readings)
        relief = relief_duration(session)
        if relief is not None:
            expected[procedure_id] = relief
        rows += [
            {
                "procedure_id": procedure_id,
                "performed_on": PERFORMED,
                "on": reading.on,
                "recorded_at": reading.recorded_at,
                "seq": reading.seq,
                "nrs": reading.nrs,
                "back": reading.pain_is_back,
                "baseline": baseline,
                "partial": partial,
                "recurrence": recurrence,
                "counts_from": counts_from,
            }
            for reading in session.readings
        ]
    fill(readings_table, rows)
    relief = relief_duration_sql(readings_table).subquery()
    in_sql = {
        procedure_id: (days, bool(ended))
        for procedure_id, days, ended in db.session.execute(select(relief))
    }
    assert in_sql == expected


def fill_readings(table, session) -> None:
    """One session's readings, one row each (``procedure_id`` is the reading's number)."""
    baseline, partial, recurrence, counts_from, readings = session
    fill(
        table,
        [
            {
                "procedure_id": seq,
                "performed_on": PERFORMED,
                "on": PERFORMED + timedelta(days=d),
                "nrs": n,
                "back": back,
                "baseline": baseline,
                "partial": partial,
                "recurrence": recurrence,
                "counts_from": counts_from,
            }
            for seq, (d, n, back, _minute) in enumerate(readings)
        ],
    )


@READINGS_IN_SQL
@given(session=session_strategy)
@example(session=(8, 30, 30, 1, [(4, 1, True, 0), (0, 0, False, 0), (3, 11, True, 0)]))
def test_what_a_reading_counts_as_in_sql_is_the_rule(readings_table, session):
    baseline, _partial, _recurrence, counts_from, readings = session
    fill_readings(readings_table, session)
    t = readings_table.c
    category = reading_category_sql(t.baseline, t.nrs, t.back, t.performed_on, t.on, t.counts_from)
    in_sql = dict(db.session.execute(select(t.procedure_id, category)).all())
    assert in_sql == {
        seq: reading_category(
            baseline, n, back, PERFORMED, PERFORMED + timedelta(days=d), counts_from
        )
        for seq, (d, n, back, _minute) in enumerate(readings)
    }


@SAME_IN_SQL
@given(session=session_strategy)
# At the threshold (30% less is no recurrence), just under it, the patient's word
# whatever the score, without a baseline, with a baseline of 0, and too early.
@example(session=(10, 30, 30, 1, [(7, 7, False, 0), (7, 8, False, 0), (7, 1, True, 0)]))
@example(session=(None, 30, 30, 1, [(7, 9, False, 0), (7, 9, True, 0)]))
@example(session=(0, 30, 30, 1, [(7, 3, False, 0), (0, 9, True, 0)]))
def test_whether_a_reading_says_the_pain_is_back_in_sql_is_the_rule(readings_table, session):
    baseline, _partial, recurrence, counts_from, readings = session
    fill_readings(readings_table, session)
    t = readings_table.c
    back_sql = pain_back_sql(
        t.baseline, t.nrs, t.back, t.performed_on, t.on, t.counts_from, t.recurrence
    )
    in_sql = set(db.session.scalars(select(t.procedure_id).where(back_sql)))
    assert in_sql == {
        seq
        for seq, (d, n, back, _minute) in enumerate(readings)
        if pain_back(
            baseline, n, back, PERFORMED, PERFORMED + timedelta(days=d), counts_from, recurrence
        )
    }


# --- eligibility and waiting for discussion --------------------------------------------------

CASES = 6

verdict_strategy = st.tuples(
    st.sampled_from(list(Kind)),
    st.booleans(),  # recurrence
    st.none() | st.integers(-2, 2),  # eligible_from, in days from today
    st.booleans(),  # presented again (a later episode exists)
    st.booleans(),  # the referrer was told
)


@pytest.fixture
def cases(app):
    """Treated cases with a kept verdict each, and a later episode for each
    that the examples link or not."""
    pairs = []
    for _ in range(CASES):
        referral, later = make_referral(), make_referral()
        db.session.add(CaseVerdict(referral_id=referral.id, kind=Kind.NOT_YET, reasons=[]))
        pairs.append((referral, later))
    db.session.flush()
    return pairs


@SAME_IN_SQL
@given(verdicts=st.lists(verdict_strategy, min_size=CASES, max_size=CASES))
# The interval passes today, yesterday, tomorrow; and "not yet" without a recurrence.
@example(
    verdicts=[
        (Kind.NOT_YET, True, 0, False, False),
        (Kind.NOT_YET, True, -1, False, True),
        (Kind.NOT_YET, True, 1, False, False),
        (Kind.NOT_YET, False, -1, False, False),
        (Kind.ELIGIBLE, True, None, True, False),
        (Kind.ELIGIBLE, True, None, False, False),
    ]
)
def test_eligibility_and_waiting_for_discussion_in_sql_are_the_rules(cases, verdicts):
    kept, waiting, told = {}, set(), set()
    for (referral, later), (kind, recurrence, days, again, was_told) in zip(
        cases, verdicts, strict=True
    ):
        row = db.session.get(CaseVerdict, referral.id)
        row.kind, row.recurrence = kind, recurrence
        row.eligible_from = None if days is None else TODAY + timedelta(days=days)
        row.referrer_told_at = TOLD_AT if was_told else None
        later.previous_referral_id = referral.id if again else None
        kept[referral.id] = row
        if waiting_for_discussion(row, again, TODAY):
            waiting.add(referral.id)
            if was_told:
                told.add(referral.id)
    db.session.flush()

    def where(condition) -> set[int]:
        return set(db.session.scalars(select(CaseVerdict.referral_id).where(condition)))

    assert where(is_eligible_sql(CaseVerdict, TODAY)) == {
        referral_id for referral_id, row in kept.items() if is_eligible(row, TODAY)
    }
    assert where(interval_passed_sql(CaseVerdict, TODAY)) == {
        referral_id for referral_id, row in kept.items() if interval_passed(row, TODAY)
    }
    assert {
        referral_id for referral_id, row in kept.items() if kind_on(row, TODAY) is not row.kind
    } == where(interval_passed_sql(CaseVerdict, TODAY))
    # The lists of eligible cases, their count, and the cases not yet told.
    listed = {row.referral_id for row in queries.eligible_cases(TODAY, limit=100)}
    assert listed == waiting
    assert queries.eligible_count(TODAY) == len(waiting)
    not_told = queries.eligible_cases(TODAY, limit=100, not_yet_told=True)
    assert {row.referral_id for row in not_told} == waiting - told


# --- windows: open, out of window, missed for completeness -------------------------------


@pytest.fixture
def window_table(app):
    from sqlalchemy import Enum as SqlEnum

    return scratch_table(
        "window_points",
        Column("id", Integer, primary_key=True),
        Column("status", SqlEnum(FollowUpStatus, native_enum=False, length=40)),
        Column("window_end_on", Date),
    )


@SAME_IN_SQL
@given(
    points=st.lists(
        st.tuples(st.sampled_from(list(FollowUpStatus)), st.none() | st.integers(-5, 5)),
        min_size=1,
        max_size=20,
    )
)
def test_window_rules_in_sql_are_the_rules(window_table, points):
    table = window_table
    rows = [
        {
            "id": i,
            "status": status,
            "window_end_on": TODAY + timedelta(days=end) if end is not None else None,
        }
        for i, (status, end) in enumerate(points)
    ]
    fill(table, rows)
    found = db.session.execute(
        select(
            table.c.id,
            still_open_sql(table.c.window_end_on, TODAY),
            out_of_window_sql(table.c.window_end_on, TODAY),
            counts_as_missed_sql(table.c.status, table.c.window_end_on, TODAY),
        )
    ).all()
    assert {row[0]: tuple(bool(v) for v in row[1:]) for row in found} == {
        row["id"]: (
            still_open(row["window_end_on"], TODAY),
            out_of_window(row["window_end_on"], TODAY),
            counts_as_missed(row["status"], row["window_end_on"], TODAY),
        )
        for row in rows
    }

"""Each follow-up rule that a query needs says the same in SQL as in Python, on
generated data run through the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Date, Integer, select

from tests.factories import make_referral
from tests.in_sql import SAME_IN_SQL, fill, scratch_table
from tracker.extensions import db
from tracker.followups import queries
from tracker.followups.models import CaseVerdict
from tracker.followups.rules import (
    Kind,
    Reading,
    RuleSettings,
    Session,
    interval_passed,
    interval_passed_sql,
    is_eligible,
    is_eligible_sql,
    kind_on,
    relief_duration,
    relief_duration_sql,
    response_category,
    response_category_sql,
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

# Readings on distinct days: the order of two readings of one day is the
# ordering rule's business (DOMAIN "Ordering and counting readings"), not this one's.
readings_strategy = st.lists(
    st.tuples(st.integers(0, 400), nrs, st.booleans()), max_size=6, unique_by=lambda r: r[0]
)
session_strategy = st.tuples(
    st.none() | nrs,  # baseline
    st.integers(0, 100),  # partial threshold
    st.integers(0, 100),  # recurrence threshold
    readings_strategy,
)


@pytest.fixture
def readings_table(app):
    return scratch_table(
        "relief_readings",
        Column("procedure_id", Integer),
        Column("performed_on", Date),
        Column("on", Date),
        Column("nrs", Integer),
        Column("back", Boolean),
        Column("baseline", Integer),
        Column("partial", Integer),
        Column("recurrence", Integer),
    )


@SAME_IN_SQL
@given(sessions=st.lists(session_strategy, min_size=1, max_size=6))
# Responds at day 7, holds at 30% on day 30 (inclusive), back on day 91 by the
# patient's word whatever the score; a second one censored at its last reading.
@example(
    sessions=[
        (10, 30, 30, [(7, 5, False), (30, 7, False), (91, 2, True)]),
        (8, 30, 30, [(7, 8, False), (14, 5, False), (60, 4, False)]),
    ]
)
# Thresholds out of their usual order: the reading that starts the relief is
# itself below the recurrence threshold, and does not end it.
@example(sessions=[(10, 30, 60, [(7, 6, False)])])
def test_the_relief_duration_in_sql_is_the_rule(readings_table, sessions):
    rows, expected = [], {}
    for procedure_id, (baseline, partial, recurrence, readings) in enumerate(sessions):
        session = Session(
            performed_on=PERFORMED,
            baseline=baseline,
            readings=tuple(
                Reading(PERFORMED + timedelta(days=d), n, back) for d, n, back in readings
            ),
            settings=RuleSettings(partial_pct=partial, recurrence_pct=recurrence),
        )
        relief = relief_duration(session)
        if relief is not None:
            expected[procedure_id] = relief
        rows += [
            {
                "procedure_id": procedure_id,
                "performed_on": PERFORMED,
                "on": reading.on,
                "nrs": reading.nrs,
                "back": reading.pain_is_back,
                "baseline": baseline,
                "partial": partial,
                "recurrence": recurrence,
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

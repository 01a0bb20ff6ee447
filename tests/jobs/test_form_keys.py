"""Used one-time form keys are forgotten after a month, by a nightly job."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.factories import make_user
from tracker.core.once import KEEP_DAYS, FormSubmission, remember
from tracker.core.scheduler import RunOutcome, run_job
from tracker.extensions import db


def kept_keys() -> set[str]:
    return set(db.session.scalars(select(FormSubmission.key)))


def test_the_nightly_job_forgets_keys_older_than_a_month_and_can_run_again(app, clock):
    user = make_user()
    clock.set(datetime(2026, 10, 1, 9, 0, tzinfo=UTC))
    remember("old-key-used-in-october", "referral", 1, user_id=user.id)
    clock.set(datetime(2026, 10, 31, 9, 0, tzinfo=UTC))
    remember("key-used-exactly-a-month-ago", "referral", 2, user_id=user.id)
    clock.set(datetime(2026, 11, 29, 9, 0, tzinfo=UTC))
    remember("recent-key-used-in-november", "meeting", 3, user_id=user.id)
    db.session.commit()

    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert KEEP_DAYS == 30
    first = run_job("form_keys", clock())
    assert first.outcome is RunOutcome.OK, first.error
    assert first.counts == {"forgotten": 1}
    assert kept_keys() == {"key-used-exactly-a-month-ago", "recent-key-used-in-november"}
    # Run again (a second scheduler, a rerun): nothing more goes.
    again = run_job("form_keys", clock())
    assert again.counts == {"forgotten": 0}
    assert len(kept_keys()) == 2

"""The jobs that write e-mails run a number of queries that does not grow with
the data: one message per recipient, but all of them written in one statement."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import delete

from tests.factories import make_meeting, make_procedure, make_referral, make_user, radiologist
from tests.jobs.test_jobs import IN_MONTH_3, PARIS, at, outbox, run
from tracker.core.mail import OutboxMessage
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.web.permissions import Role


def test_the_digest_runs_the_same_queries_for_one_clinician_or_many(app, clock, count_queries):
    made = iter(range(100))

    def digest(clinicians: int) -> tuple[int, int]:
        for _ in range(clinicians):
            owner = make_user(roles={Role.CLINICIAN})
            make_procedure(followup_owner=owner, performed_on=date(2026, 6, 10 + next(made)))
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
        with count_queries() as counter:
            result = run("followups", clock, at(IN_MONTH_3))
        assert result.counts["queued"] == len(outbox())
        return counter.count, result.counts["queued"]

    few, many = digest(1), digest(5)
    assert few == (many[0], 1)
    assert many[1] == 6
    assert len({message.recipient_id for message in outbox()}) == 6


def test_reminders_run_the_same_queries_for_one_meeting_or_many(app, clock, count_queries):
    made = iter(range(100))

    def remind(meetings: int, presenters: int) -> tuple[int, int]:
        for _ in range(meetings):
            day = date(2026, 11, 24) + timedelta(days=next(made) % 2)
            hour = 8 + next(made)
            meeting = make_meeting(
                starts_at=datetime.combine(day, time(hour), tzinfo=PARIS),
                chair_id=radiologist().id,
                coordinator_id=make_user(roles={Role.COORDINATOR}).id,
            )
            for _ in range(presenters):
                referral = make_referral(referrer_id=radiologist().id)
                meeting_services.add_to_agenda(meeting, referral, by=None)
        db.session.execute(delete(OutboxMessage))
        db.session.commit()
        with count_queries() as counter:
            result = run("meetings", clock, at(date(2026, 11, 23), 7))
        assert result.counts["reminders"] == len(outbox())
        return counter.count, result.counts["reminders"]

    few, many = remind(1, 1), remind(3, 3)
    assert few == (many[0], 3)
    assert many[1] == 3 + 3 * 5

"""Two schedulers at once (two threads, each with its own database connection,
on a database whose transactions really commit): every notification is
written once and every message is sent once."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.factories import make_meeting, make_referral, make_user, radiologist
from tracker.core.mail import OutboxMessage, queue_mail
from tracker.core.scheduler import RunOutcome, run_job
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
#: How long a thread may take to reach the start line or to finish: a guard
#: against a hang, generous enough for a busy machine.
WAIT_S = 600


def twice_at_once(app, job_id: str, moment: datetime) -> list:
    """Run ``job_id`` in two threads released together; return both runs' outcomes."""
    start = threading.Barrier(2)
    outcomes: list = []
    errors: list = []

    def scheduler() -> None:
        try:
            with app.app_context():
                start.wait(timeout=WAIT_S)
                outcomes.append(run_job(job_id, moment).outcome)
                db.session.remove()
        except Exception as error:  # reported by the test below
            errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    assert errors == []
    return outcomes


def test_two_schedulers_remind_each_person_once(committed_app, clock):
    with committed_app.app_context():
        chair = radiologist()
        meeting = make_meeting(
            chair_id=chair.id, coordinator_id=make_user(roles={Role.COORDINATOR}).id
        )
        for _ in range(5):
            meeting_services.add_to_agenda(
                meeting, make_referral(referrer_id=radiologist().id), by=None
            )
        db.session.commit()
        db.session.remove()
    moment = datetime(2026, 11, 23, 9, 0, tzinfo=PARIS)
    clock.set(moment)
    assert twice_at_once(committed_app, "meetings", moment) == [RunOutcome.OK, RunOutcome.OK]
    with committed_app.app_context():
        keys = db.session.scalars(select(OutboxMessage.dedup_key)).all()
        assert len(keys) == len(set(keys)) == 7  # chair, coordinator, five presenters
        db.session.remove()


def test_two_senders_send_each_message_once(committed_app, clock, smtp_server):
    mailbox, port = smtp_server
    committed_app.config.update(MAIL_HOST="127.0.0.1", MAIL_PORT=port, MAIL_SECURITY="none")
    with committed_app.app_context():
        people = [make_user() for _ in range(30)]
        for number, person in enumerate(people):
            queue_mail(
                key=f"test:{number}", to=person, subject=f"Message {number}", body="RCP-2026-0001"
            )
        db.session.commit()
        db.session.remove()
    moment = datetime(2026, 11, 20, 10, 0, tzinfo=PARIS)
    clock.set(moment)
    assert twice_at_once(committed_app, "outbox", moment) == [RunOutcome.OK, RunOutcome.OK]
    subjects = sorted(message["Subject"] for message in mailbox.messages)
    assert subjects == sorted(f"Message {number}" for number in range(30))
    with committed_app.app_context():
        unsent = db.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        )
        assert unsent == 0
        db.session.remove()

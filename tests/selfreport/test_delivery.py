"""Invitations delivered for real: e-mails through a local SMTP server (aiosmtpd),
text messages through a local HTTP gateway started here; a refused message is
not retried behind the team's back; reminders stop at the window's end and
after two; two schedulers at once send each invitation once."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import assess, give_contact, make_procedure, make_user
from tests.html import soup, text
from tests.jobs.test_concurrency import twice_at_once
from tracker.core.mail import OutboxMessage
from tracker.core.scheduler import RunOutcome, run_job
from tracker.core.settings import set_setting
from tracker.extensions import db
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import InvitationStatus
from tracker.selfreport.settings import SECOND_REMINDER_DAYS
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
#: Treated then, week 1's window opens on 19 November (day 5) and closes at
#: the end of 25 November (day 11); month 1's opens on day 23 and closes on day 44.
PERFORMED = date(2026, 11, 14)
TOKEN = "gateway-secret"
MOBILE = "+33612345678"


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


def day(number: int) -> datetime:
    """10:00 on the ``number``-th day after the procedure: when the job runs."""
    return at(PERFORMED + timedelta(days=number))


class Gateway:
    """A hospital's HTTP SMS gateway on this machine: it keeps each request and
    answers with the next status of ``answers`` (200 when none is left)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()

    def texts(self) -> list[str]:
        return [request["json"]["text"] for request in self.received]


@contextmanager
def serving(app: Flask) -> Iterator[Gateway]:
    """A gateway in a thread, on a free port; ``app`` sends its text messages there."""
    gateway = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with gateway.lock:
                gateway.received.append(
                    {
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "json": json.loads(body),
                    }
                )
                status = gateway.answers.pop(0) if gateway.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass  # quiet: the test reads what was received

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    keys = ("SMS_URL", "SMS_TOKEN", "SMS_TIMEOUT")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        SMS_URL=f"http://127.0.0.1:{server.server_port}/messages",
        SMS_TOKEN=TOKEN,
        SMS_TIMEOUT=60,  # a busy machine, not a slow gateway
    )
    try:
        yield gateway
    finally:
        app.config.update(saved)
        server.shutdown()
        server.server_close()
        thread.join(timeout=60)


@pytest.fixture
def sms_gateway(app) -> Iterator[Gateway]:
    with serving(app) as gateway:
        yield gateway


def treated(channel: str, *, owner=None, language: str = "EN") -> Any:
    """A patient who agreed to be contacted by ``channel``, in English, treated by
    radiofrequency (its time points only: no regrowth check)."""
    procedure = make_procedure(
        technique_code="radiofrequency",
        distance_mm=None,
        performed_on=PERFORMED,
        followup_owner=owner,
    )
    give_contact(
        procedure.referral.patient,
        phone_1="06 12 34 56 78",
        email="patient@example.org",
        preferred_channel=channel,
        preferred_language=language,
    )
    return procedure


def run(clock, moment: datetime, job: str = "invitations") -> dict[str, int]:
    clock.set(moment)
    record = run_job(job, moment)
    assert record.outcome is RunOutcome.OK, record.error
    return record.counts


def invitation_of(procedure) -> Invitation:
    db.session.expire_all()
    return db.session.scalars(
        select(Invitation)
        .where(Invitation.referral_id == procedure.referral_id)
        .order_by(Invitation.id)
    ).first()


def link_in(message: str) -> str:
    return re.search(r"https?://\S+/p/[A-Za-z0-9_-]+", message).group(0)


def path_of(link: str) -> str:
    return "/p/" + link.rsplit("/p/", 1)[1]


def reveals_nothing(message: str, procedure) -> None:
    patient, referral = procedure.referral.patient, procedure.referral
    for secret in (patient.last_name, patient.first_name, patient.mrn, referral.case_number):
        assert secret not in message
    for words in ("radiofrequency", "neuroma", "Morton"):
        assert words.lower() not in message.lower()


# --- e-mail ------------------------------------------------------------------------


def test_an_invitation_by_e_mail_reaches_a_real_smtp_server_and_its_link_works(
    app, client, clock, mail_to
):
    procedure = treated("EMAIL")
    assert run(clock, day(5))["invited"] == 1
    assert run(clock, day(5) + timedelta(minutes=1), "outbox")["sent"] == 1
    [email] = mail_to.messages
    assert email["To"] == "patient@example.org"
    assert email["Subject"].startswith("How is your pain?")
    body = email.get_content()
    reveals_nothing(body, procedure)
    assert client.get(path_of(link_in(body))).status_code == 200
    # Sent once: the outbox's key keeps a second run from writing it again.
    assert run(clock, day(5) + timedelta(minutes=2))["invited"] == 0
    run(clock, day(5) + timedelta(minutes=3), "outbox")
    assert len(mail_to.messages) == 1
    # The reminder two days later: the same link, through the same server.
    assert run(clock, day(7))["reminded"] == 1
    run(clock, day(7) + timedelta(minutes=1), "outbox")
    assert len(mail_to.messages) == 2
    assert link_in(mail_to.messages[1].get_content()) == link_in(body)


# --- text messages -----------------------------------------------------------------


def test_a_text_message_reaches_the_gateway_with_its_token_and_the_link(client, clock, sms_gateway):
    procedure = treated("SMS")
    assert run(clock, day(5))["invited"] == 1
    [request] = sms_gateway.received
    assert request["path"] == "/messages"
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content_type"] == "application/json"
    assert set(request["json"]) == {"to", "text"}
    assert request["json"]["to"] == MOBILE
    message = request["json"]["text"]
    reveals_nothing(message, procedure)
    assert len(message) <= 320  # two text messages at most
    assert client.get(path_of(link_in(message))).status_code == 200
    invitation = invitation_of(procedure)
    assert invitation.status is InvitationStatus.OPENED  # the link was opened above
    assert invitation.sent_at == day(5)


def test_a_french_text_message_keeps_to_the_7_bit_alphabet(clock, sms_gateway):
    # French typography's spaces and apostrophe would make it Unicode: 70 a part.
    treated("SMS", language="FR")
    assert run(clock, day(5))["invited"] == 1
    [message] = sms_gateway.texts()
    assert "comment va votre douleur ? Répondez ici :" in message
    assert not {"\u00a0", "\u202f", "\u2019"} & set(message)
    assert len(message) <= 320


def test_a_message_the_gateway_refuses_fails_plainly_and_is_not_retried(
    client, auth, clock, sms_gateway
):
    nurse = make_user(roles={Role.CLINICIAN})
    procedure = treated("SMS", owner=nurse)
    sms_gateway.answers = [500]
    counts = run(clock, day(5))
    assert (counts["invited"], counts["not_delivered"]) == (0, 1)
    invitation = invitation_of(procedure)
    assert invitation.status is InvitationStatus.FAILED
    assert invitation.last_error == "gateway answered 500"
    assert invitation.sent_at is None
    # The following days: nothing sent again, no reminder, no second invitation.
    for number in (6, 7, 10):
        counts = run(clock, day(number))
        assert (counts["invited"], counts["not_delivered"], counts["reminded"]) == (0, 0, 0)
    assert len(sms_gateway.received) == 1
    # The team sees it on the worklist and the case page, and sends it again.
    auth.login_as(nurse)
    worklist = text(soup(client.get("/followups")))
    assert "invited, not delivered" in worklist
    row = soup(client.get(f"/cases/{procedure.referral_id}")).select_one("tr.invitation")
    assert "Not delivered: gateway answered 500" in text(row)
    client.post(f"/invitations/{invitation.id}/resend")
    assert len(sms_gateway.received) == 2
    invitation = invitation_of(procedure)
    assert (invitation.status, invitation.last_error) == (InvitationStatus.SENT, None)
    assert sms_gateway.texts()[0] == sms_gateway.texts()[1]  # the same link


def test_a_refused_reminder_counts_as_one_and_the_link_keeps_working(client, clock, sms_gateway):
    procedure = treated("SMS")
    run(clock, day(5))
    sms_gateway.answers = [503]
    assert run(clock, day(7))["reminded"] == 0
    invitation = invitation_of(procedure)
    assert invitation.status is InvitationStatus.SENT
    assert (invitation.reminders_sent, invitation.last_error) == (1, "gateway answered 503")
    assert client.get(path_of(link_in(sms_gateway.texts()[0]))).status_code == 200
    assert run(clock, day(8))["reminded"] == 0  # not retried: the next one is on day 10
    assert run(clock, day(10))["reminded"] == 1
    assert len(sms_gateway.received) == 3


def test_reminders_go_within_the_window_only_and_two_at_most(app, clock, sms_gateway):
    set_setting(SECOND_REMINDER_DAYS, 8)
    db.session.commit()
    procedure = treated("SMS")
    sent_on: list[int] = []
    for number in range(5, 50):
        before = len(sms_gateway.received)
        run(clock, day(number))
        sent_on += [number] * (len(sms_gateway.received) - before)
    # Week 1: invited on day 5, reminded on day 7; day 13 is after its window
    # (closed at the end of day 11). Month 1: invited on day 23, reminded on
    # days 25 and 31, then no more.
    week1, month1 = db.session.scalars(
        select(Invitation)
        .where(Invitation.referral_id == procedure.referral_id)
        .order_by(Invitation.created_at)
    ).all()
    assert sent_on == [5, 7, 23, 25, 31]
    assert (week1.reminders_sent, week1.status) == (1, InvitationStatus.EXPIRED)
    assert week1.last_reminded_at < week1.expires_at
    assert (month1.reminders_sent, month1.status) == (2, InvitationStatus.EXPIRED)
    assert month1.last_reminded_at < month1.expires_at


def test_reminders_stop_once_the_team_has_recorded_the_time_point(clock, sms_gateway):
    procedure = treated("SMS")
    run(clock, day(5))
    clock.set(day(6))
    week1 = invitation_of(procedure).followup
    assess(procedure, followup=week1, assessed_on=PERFORMED + timedelta(days=6), nrs_average=2)
    assert run(clock, day(7))["reminded"] == 0
    assert len(sms_gateway.received) == 1


# --- two schedulers at once --------------------------------------------------------


def test_two_schedulers_at_once_send_each_invitation_once(committed_app, clock):
    with serving(committed_app) as gateway:
        with committed_app.app_context():
            for channel in ("EMAIL", "SMS", "EMAIL", "SMS", "EMAIL"):
                treated(channel)
            db.session.commit()
            db.session.remove()
        moment = day(5)
        clock.set(moment)
        assert twice_at_once(committed_app, "invitations", moment) == [
            RunOutcome.OK,
            RunOutcome.OK,
        ]
        with committed_app.app_context():
            invitations = db.session.scalars(select(Invitation)).all()
            assert len(invitations) == len({i.followup_id for i in invitations}) == 5
            assert {i.status for i in invitations} == {InvitationStatus.SENT}
            keys = db.session.scalars(
                select(OutboxMessage.dedup_key).where(
                    OutboxMessage.dedup_key.startswith("invitation:")
                )
            ).all()
            assert len(keys) == len(set(keys)) == 3
            assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
            db.session.remove()
        assert len(gateway.received) == 2
        assert len({request["json"]["text"] for request in gateway.received}) == 2

"""A patient invited to answer week 1's questionnaire, and the helpers the
patient-reported follow-up tests share (the fixture is in ``conftest.py``)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.factories import give_contact, make_procedure, make_referral, make_user
from tracker.core.mail import OutboxMessage
from tracker.core.scheduler import RunOutcome, run_job
from tracker.extensions import db
from tracker.selfreport.models import Invitation
from tracker.web.permissions import Role

PARIS = ZoneInfo("Europe/Paris")
PERFORMED = date(2026, 12, 1)
BORN = date(1961, 4, 12)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS)


@pytest.fixture
def treated(app, clock):
    """A procedure recorded today for a patient who agreed to be e-mailed, in French."""
    nurse = make_user(roles={Role.CLINICIAN}, full_name="Claire Martin")
    referral = make_referral(
        referral_on=PERFORMED - timedelta(days=21),
        patient_agreed_on=PERFORMED - timedelta(days=21),
        nrs_average=8,
    )
    patient = referral.patient
    patient.birth_on = BORN
    give_contact(
        patient,
        email="patient@example.org",
        preferred_channel="EMAIL",
        preferred_language="FR",
    )
    procedure = make_procedure(referral=referral, performed_on=PERFORMED, followup_owner=nurse)
    return procedure, nurse


def run(clock, moment: datetime) -> dict[str, int]:
    clock.set(moment)
    record = run_job("invitations", moment)
    assert record.outcome is RunOutcome.OK, record.error
    return record.counts


def invitation_of(procedure) -> Invitation:
    return db.session.scalar(
        select(Invitation).where(Invitation.referral_id == procedure.referral_id)
    )


def mails(prefix: str = "invitation:") -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.dedup_key.startswith(prefix))
            .order_by(OutboxMessage.id)
        )
    )


def link_in(message: OutboxMessage) -> str:
    return re.search(r"https?://\S+/p/[A-Za-z0-9_-]+(?=\s)", message.body).group(0)


def born(day: date) -> dict[str, str]:
    """A date of birth as the patient types it: day, month and year."""
    return {
        "born_on-day": str(day.day),
        "born_on-month": str(day.month),
        "born_on-year": str(day.year),
    }


def path_of(link: str) -> str:
    return "/p/" + link.rsplit("/p/", 1)[1]

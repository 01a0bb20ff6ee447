"""A patient for the patient's journey: treated by genicular radiofrequency 6 days
before the journeys' day, agreed to be e-mailed, in the journey's language.
Week 1's window is open, so the invitations job sends the link; this prints the
case number and the link as the patient receives it (read from the outbox).

``python -m tests.browser.patient_story fr`` (inside the site's environment)."""

from __future__ import annotations

import re
import sys
from datetime import date

from sqlalchemy import select

from tracker.auth.models import User
from tracker.cases import services as case_services
from tracker.cases.contact import ContactChannel, ContactLanguage
from tracker.cases.models import PainSide, Sex
from tracker.core.mail import OutboxMessage
from tracker.core.scheduler import RunOutcome, run_job
from tracker.core.time import local_today
from tracker.demo.team import _seed_story, _Story
from tracker.extensions import db

BORN = date(1958, 9, 23)
STORY = _Story(
    ("80099456", "Fontaine", "Hélène", BORN, Sex.FEMALE),
    "limb_osteoarthritis",
    "radiofrequency",
    "Left knee",
    PainSide.LEFT,
    (7, 7, 8),
    "Superomedial, superolateral and inferomedial genicular nerves",
    None,
    {"rf_temperature_c": 80, "rf_duration_seconds": 90},
    28,  # referred 28 days ago: treated 22 days later, 6 days ago
    (),
)


def add(language: str) -> tuple[str, str]:
    """Seed the story and send week 1's invitation (inside an application
    context); returns the case number and the link in the message."""
    users = {user.email: user for user in db.session.scalars(select(User))}
    procedure = _seed_story(STORY, users, local_today())
    case_services.update_contact(
        procedure.referral.patient,
        {
            "phone_1": None,
            "phone_2": None,
            "email": "patient.journey@example.org",
            "preferred_language": ContactLanguage(language),
            "preferred_channel": ContactChannel.EMAIL,
            "contact_consent": True,
        },
        by=users["clinician@example.org"],
    )
    db.session.commit()
    run = run_job("invitations")
    if run.outcome is not RunOutcome.OK or run.counts.get("invited") != 1:
        raise RuntimeError(f"the invitation was not sent: {run.counts} {run.error}")
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient_email == "patient.journey@example.org")
    )
    if message is None:
        raise RuntimeError("no message in the outbox")
    link = re.search(r"https?://\S+/p/[A-Za-z0-9_-]+", message.body)
    if link is None:
        raise RuntimeError(f"no link in the message:\n{message.body}")
    return procedure.referral.case_number, link.group(0)


if __name__ == "__main__":
    from tests.browser.clocked import app

    with app.app_context():
        print(*add(sys.argv[1]))

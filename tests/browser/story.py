"""One more demo patient for the clinician's journey: treated by cryoneurolysis 95
days before the journeys' day, with nothing logged yet, so that week 1 and month 3
wait on the worklist and the case is not eligible for anything yet."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tracker.auth.models import User
from tracker.cases.models import PainSide, Sex
from tracker.core.time import local_today
from tracker.demo.team import _seed_story, _Story
from tracker.extensions import db

STORY = _Story(
    ("80099123", "Garnier", "Lucie", date(1971, 3, 2), Sex.FEMALE),
    "morton_neuroma",
    "cryoneurolysis",
    "Left foot, third web space",
    PainSide.LEFT,
    (7, 7, 9),
    "Third common digital nerve (Morton's neuroma)",
    40,
    {"cryo_cycles": 2, "cryo_freeze_minutes": 3.0, "cryo_probe_temperature_c": -70},
    117,  # referred 117 days ago: treated 22 days later, 95 days ago
    (),
)


def add() -> str:
    """Seed the story (inside an application context); returns its case number."""
    users = {user.email: user for user in db.session.scalars(select(User))}
    procedure = _seed_story(STORY, users, local_today())
    db.session.commit()
    return procedure.referral.case_number


if __name__ == "__main__":
    from tests.browser.clocked import app

    with app.app_context():
        print(add())

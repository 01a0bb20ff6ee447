"""Demonstration data: a small team so that a new installation can be tried at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.core.permissions import Role
from tracker.core.specialties import Specialty
from tracker.extensions import db

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    specialty: Specialty
    roles: frozenset[Role]


DEMO_ACCOUNTS = (
    DemoAccount("admin@example.org", "Claire Martin", Specialty.OTHER, frozenset({Role.ADMIN})),
    DemoAccount(
        "coordinator@example.org",
        "Sophie Bernard",
        Specialty.OTHER,
        frozenset({Role.COORDINATOR}),
    ),
    DemoAccount(
        "radiologist@example.org",
        "Dr Julien Moreau",
        Specialty.INTERVENTIONAL_RADIOLOGY,
        frozenset({Role.RADIOLOGIST}),
    ),
    DemoAccount(
        "clinician@example.org",
        "Dr Amélie Laurent",
        Specialty.PAIN_MEDICINE,
        frozenset({Role.CLINICIAN}),
    ),
    DemoAccount(
        "anaesthetist@example.org",
        "Dr Karim Haddad",
        Specialty.ANAESTHESIOLOGY,
        frozenset({Role.CLINICIAN}),
    ),
)


def database_has_accounts() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def seed_demo(password: str) -> list[DemoAccount]:
    """Create the demo team (the caller commits)."""
    for account in DEMO_ACCOUNTS:
        auth_services.create_user(
            email=account.email,
            full_name=account.full_name,
            specialty=account.specialty,
            roles=account.roles,
            password=password,
        )
    logger.info("Seeded %d demo accounts", len(DEMO_ACCOUNTS))
    return list(DEMO_ACCOUNTS)

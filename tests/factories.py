"""Factories: valid objects in one call, built through the services (and so audited)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.core.permissions import Role
from tracker.core.specialties import Specialty
from tracker.extensions import db

PASSWORD = "a long enough test password"

_sequence = itertools.count(1)


def make_user(
    *,
    roles: Iterable[Role] = (Role.CLINICIAN,),
    email: str | None = None,
    full_name: str | None = None,
    specialty: Specialty = Specialty.PAIN_MEDICINE,
    password: str = PASSWORD,
    is_active: bool = True,
    **extra: Any,
) -> User:
    number = next(_sequence)
    user = auth_services.create_user(
        email=email or f"user{number}@hospital.test",
        full_name=full_name or f"Test User {number}",
        specialty=specialty,
        roles=set(roles),
        password=password,
    )
    user.is_active = is_active
    for key, value in extra.items():
        setattr(user, key, value)
    db.session.commit()
    return user

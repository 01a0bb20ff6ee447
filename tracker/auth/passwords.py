"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

import gzip
import logging
import re
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

logger = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other cost settings than today's."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash("no such account")


def burn_verification_time(password: str) -> None:
    """Spend the time of a real verification when the account does not exist,
    so that response times do not reveal which e-mail addresses have accounts."""
    config = current_app.config
    dummy = _dummy_hash(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"]
    )
    verify_password(dummy, password)


COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt.gz"

#: Digits, punctuation and spaces around a word: "Password2024!" is "password".
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")

#: Fewer different characters than this is a pattern, not a password ("aaaa...", "1212...").
MIN_DISTINCT_CHARACTERS = 5


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 49,000 passwords people choose most (zxcvbn's list, see data/NOTICE)."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def _forms(password: str) -> set[str]:
    """The password and its bare word, lower-cased and without spaces."""
    lowered = password.strip().lower()
    return {lowered, lowered.replace(" ", ""), _DECORATION.sub("", lowered).replace(" ", "")}


def password_problems(password: str, email: str | None = None) -> list[str]:
    """What is wrong with a new password, as messages for the user (empty: fine)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(_("Use at least %(n)d characters.", n=minimum))
    forms = _forms(password)
    if email:
        email = email.strip().lower()
        if forms & {email, email.split("@")[0]}:
            problems.append(_("The password must not be your e-mail address."))
            return problems
    if forms & common_passwords():
        problems.append(
            _(
                "This password, or its word without the digits and signs around it, is "
                "among the most common ones: choose another (a sentence of several words "
                "works well)."
            )
        )
    elif len(set(password)) < MIN_DISTINCT_CHARACTERS:
        problems.append(_("Use more different characters."))
    return problems

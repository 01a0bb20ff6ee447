"""The optional second factor: a code from an authenticator app (TOTP, RFC 6238),
or one of ten recovery codes that each work once.

The key is made when the person starts enrolling and is in force only once a
first code confirms that the app holds it.  Every change to it is a change to
the account, and so in the audit trail (the key itself is never written there).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets

import pyotp
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from tracker.auth.models import RecoveryCode, User
from tracker.auth.passwords import hash_password, verify_password
from tracker.core.errors import DomainError
from tracker.core.time import utcnow
from tracker.extensions import db

logger = logging.getLogger(__name__)

ISSUER = "RCP Tracker"
#: Codes accepted one step (30 s) either side of now: phones' clocks drift.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
#: Letters and digits that cannot be misread for one another (no 0/o, 1/l/i).
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_SEPARATORS = re.compile(r"[\s\-]+")

#: A TOTP code as typed: six digits, spaces allowed.
_TOTP_CODE = re.compile(r"^\d{6}$")


def start_enrolment(user: User) -> str:
    """A new key for ``user``, not in force until ``confirm_enrolment``."""
    if user.has_second_factor:
        raise DomainError(_l("Your second factor is already set up."))
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    db.session.flush()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    """The ``otpauth://`` address an authenticator app reads."""
    if user.totp_secret is None:
        return ""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def grouped(secret: str | None) -> str:
    """The key in groups of four, easier to type by hand."""
    secret = secret or ""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean(code: str) -> str:
    return _SEPARATORS.sub("", (code or "").strip().lower())


def _accept_totp(user: User, code: str) -> bool:
    """The code of a step near now, newer than the last one accepted."""
    if user.totp_secret is None or not _TOTP_CODE.match(code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int(utcnow().timestamp()) // totp.interval
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue  # a code seen before (or older than one seen): replayed
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            user.totp_last_step = step
            return True
    return False


def _accept_recovery(user: User, code: str) -> bool:
    """An unused recovery code of ``user``, spent by this use."""
    if len(code) != 10 or not set(code) <= set(_ALPHABET):
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for row in unused:
        if verify_password(row.code_hash, code):
            row.used_at = utcnow()
            return True
    return False


def check_code(user: User, code: str) -> str | None:
    """``"app"`` or ``"recovery"`` when ``code`` is good for ``user`` (a recovery
    code is spent), else None."""
    cleaned = _clean(code)
    if _accept_totp(user, cleaned):
        db.session.flush()
        return "app"
    if _accept_recovery(user, cleaned):
        db.session.flush()
        return "recovery"
    return None


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_password(c)) for c in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Put the key in force once the app shows a right code; the recovery codes,
    shown once and kept only as hashes."""
    if user.has_second_factor:
        raise DomainError(_l("Your second factor is already set up."))
    if user.totp_secret is None:
        raise DomainError(_l("Start the setup again: no key is waiting for a code."))
    if not _accept_totp(user, _clean(code)):
        raise DomainError(
            _l("This code is not the one expected: check the phone's time and try again."),
            "code",
        )
    user.totp_confirmed_at = utcnow()
    codes = _new_recovery_codes(user)
    db.session.flush()
    logger.info("User %s set up a second factor", user.id)
    return codes


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def new_recovery_codes(user: User, code: str) -> list[str]:
    """Ten fresh recovery codes (the old ones stop working), against a code."""
    if not user.has_second_factor:
        raise DomainError(_l("Set up the second factor first."))
    if check_code(user, code) is None:
        raise DomainError(_l("This code is not valid."), "code")
    codes = _new_recovery_codes(user)
    db.session.flush()
    return codes


def turn_off(user: User, code: str, *, required: bool) -> None:
    """Stop asking ``user`` for a code; the caller checked the password first."""
    if not user.has_second_factor:
        raise DomainError(_l("You have no second factor to turn off."))
    if required:
        raise DomainError(_l("Administrators of this site must keep a second factor."))
    if check_code(user, code) is None:
        raise DomainError(_l("This code is not valid."), "code")
    user.totp_secret = None
    user.totp_confirmed_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()
    logger.info("User %s turned the second factor off", user.id)

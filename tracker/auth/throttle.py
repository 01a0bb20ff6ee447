"""Slowing down password guessing without letting anyone lock the team out.

Failed logins are counted three ways, in the database so that every web
worker sees the same counts:

- per **client address**: one machine trying many e-mails waits;
- per **e-mail typed** (whether an account has it or not): many machines
  trying one account wait;
- per **known browser**: a browser where the account logged in before carries
  a signed cookie naming it.  Such a browser is judged on its own failures
  only, so the rightful owner with the right password gets in even while
  strangers' failures hold the account name and their addresses back.

Past the free failures each further attempt waits, twice as long each time up
to an hour (``tracker.auth.rules.FailureLimit``): never a lock that lasts.
"""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ColumnElement, delete, func, or_, select

from tracker.auth.models import LoginFailure
from tracker.auth.rules import FailureLimit
from tracker.extensions import db

logger = logging.getLogger(__name__)

#: One client address may fail this often (whatever the e-mails) before waiting:
#: a ward computer shared by a whole team mistypes now and then.
ADDRESS_LIMIT = FailureLimit(free=20)
#: One e-mail typed, from browsers that never logged in with it.
ACCOUNT_LIMIT = FailureLimit(free=5)
#: One known browser of the account.
DEVICE_LIMIT = FailureLimit(free=5)

#: Failures older than this count for nothing (and the nightly job forgets them).
MEMORY = timedelta(days=1)

#: The cookie that makes a browser known to the accounts that logged in on it.
DEVICE_COOKIE = "rcp_known_browser"
#: How long a browser stays known after its last login there.
DEVICE_DAYS = 180
#: Accounts remembered per browser (a shared ward computer), the latest first.
DEVICE_ACCOUNTS = 5

_SALT = "known-browser"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def read_device_cookie(raw: str | None) -> list[list[Any]]:
    """The ``[user_id, key, issued_at_seconds]`` entries of a genuine cookie;
    none for a missing, forged or damaged one."""
    if not raw:
        return []
    try:
        entries = _serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(entries, list):
        return []
    return [
        entry
        for entry in entries
        if isinstance(entry, list)
        and len(entry) == 3
        and isinstance(entry[0], int)
        and isinstance(entry[1], str)
        and isinstance(entry[2], int | float)
    ]


def device_key_for(raw: str | None, user_id: int | None, now: datetime) -> str | None:
    """The key this browser holds for the account, if it logged in there within
    ``DEVICE_DAYS``."""
    if user_id is None:
        return None
    oldest = (now - timedelta(days=DEVICE_DAYS)).timestamp()
    for entry_user, key, issued in read_device_cookie(raw):
        if entry_user == user_id and issued >= oldest:
            return str(key)[:32]
    return None


def device_cookie_after_login(raw: str | None, user_id: int, now: datetime) -> str:
    """The cookie's new value once ``user_id`` logged in on this browser: its key
    kept (or a new one), renewed, first in the list."""
    key = device_key_for(raw, user_id, now) or secrets.token_urlsafe(16)
    others = [entry for entry in read_device_cookie(raw) if entry[0] != user_id]
    entries = [[user_id, key, int(now.timestamp())], *others][:DEVICE_ACCOUNTS]
    return str(_serializer().dumps(entries))


def device_cookie_options() -> dict[str, Any]:
    config = current_app.config
    return {
        "max_age": DEVICE_DAYS * 24 * 3600,
        "secure": bool(config.get("SESSION_COOKIE_SECURE")),
        "httponly": True,
        "samesite": "Lax",
    }


def normalized_key(email: str) -> str:
    return email.strip().lower()[:254]


def _address(ip_address: str | None) -> str | None:
    return (ip_address or "")[:45] or None


@dataclass(frozen=True)
class Wait:
    """A login attempt that must wait until ``until``."""

    until: datetime
    #: Which count holds it back: ``address``, ``account`` or ``browser``.
    scope: str

    def message(self, now: datetime) -> str:
        """What the person is told: the same whether the account exists or not."""
        minutes = max(1, math.ceil((self.until - now).total_seconds() / 60))
        return _(
            "Too many failed attempts: try again after %(time)s (in %(minutes)d min). "
            "From a browser where you logged in before, your password still works; "
            "an administrator can also set a new one.",
            time=format_datetime(self.until, "HH:mm"),
            minutes=minutes,
        )


def _count(condition: ColumnElement[bool], now: datetime) -> tuple[int, datetime | None]:
    count, last = db.session.execute(
        select(func.count(), func.max(LoginFailure.attempted_at)).where(
            condition, LoginFailure.attempted_at > now - MEMORY
        )
    ).one()
    return int(count), _aware(last)


def _aware(moment: datetime | None) -> Any:
    """An aggregate (``max``) loses the column's type: SQLite gives it back naive."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def _wait(
    limit: FailureLimit, counted: tuple[int, datetime | None], scope: str, now: datetime
) -> Wait | None:
    until = limit.open_again_at(*counted)
    return Wait(until, scope) if until is not None and until > now else None


def wait_before_attempt(
    email: str, ip_address: str | None, device_key: str | None, now: datetime
) -> Wait | None:
    """Whether an attempt now must wait, and until when.

    A known browser of the account is judged on its own failures alone;
    anyone else on the e-mail's and on the client address's.
    """
    if device_key is not None:
        return _wait(
            DEVICE_LIMIT, _count(LoginFailure.device_key == device_key, now), "browser", now
        )
    waits = []
    address = _address(ip_address)
    if address is not None:
        waits.append(
            _wait(ADDRESS_LIMIT, _count(LoginFailure.ip_address == address, now), "address", now)
        )
    key = normalized_key(email)
    waits.append(_wait(ACCOUNT_LIMIT, _count(LoginFailure.email_key == key, now), "account", now))
    found = [wait for wait in waits if wait is not None]
    return max(found, key=lambda wait: wait.until) if found else None


def count_failure(
    email: str, ip_address: str | None, device_key: str | None, now: datetime
) -> None:
    db.session.add(
        LoginFailure(
            email_key=normalized_key(email),
            attempted_at=now,
            ip_address=_address(ip_address),
            device_key=device_key,
        )
    )
    db.session.flush()


def forget_own_failures(email: str, ip_address: str | None, device_key: str | None) -> None:
    """After a success: the person's own slips (from this address or this
    browser) count no more; strangers' failures elsewhere still do."""
    mine: list[ColumnElement[bool]] = []
    address = _address(ip_address)
    if address is not None:
        mine.append(LoginFailure.ip_address == address)
    if device_key is not None:
        mine.append(LoginFailure.device_key == device_key)
    if not mine:
        return
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.email_key == normalized_key(email), or_(*mine))
    )


def forget_account_failures(email: str) -> None:
    """A new password set by an administrator lifts every wait on the account name."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.email_key == normalized_key(email)))


def forget_old_failures(now: datetime) -> int:
    return db.session.execute(  # type: ignore[attr-defined]  # a CursorResult (DML)
        delete(LoginFailure).where(LoginFailure.attempted_at < now - MEMORY)
    ).rowcount


@dataclass(frozen=True)
class HeldBack:
    """An account name or a client address with many recent failures."""

    scope: str
    key: str
    failures: int
    last_failure: datetime
    #: When the next attempt is allowed, if it must wait now.
    until: datetime | None


def held_back(now: datetime, *, limit: int = 8) -> list[HeldBack]:
    """What the administrators' home shows: the account names and client
    addresses that reached their free failures within ``MEMORY``, the latest
    first (two queries)."""
    since = LoginFailure.attempted_at > now - MEMORY
    found: list[HeldBack] = []
    for scope, column, rule in (
        ("account", LoginFailure.email_key, ACCOUNT_LIMIT),
        ("address", LoginFailure.ip_address, ADDRESS_LIMIT),
    ):
        last = func.max(LoginFailure.attempted_at)
        rows = db.session.execute(
            select(column, func.count(), last)
            .where(since, column.is_not(None))
            .group_by(column)
            .having(func.count() >= rule.free)
            .order_by(last.desc())
            .limit(limit)
        ).all()
        for key, count, last_at in rows:
            last_at = _aware(last_at)
            until = rule.open_again_at(count, last_at)
            found.append(
                HeldBack(scope, str(key), count, last_at, until if until and until > now else None)
            )
    found.sort(key=lambda row: row.last_failure, reverse=True)
    return found[:limit]

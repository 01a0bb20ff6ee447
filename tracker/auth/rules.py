"""Account rules that need no database: whom the product may e-mail, and how
long a login must wait after failures.

The SQL form is built beside the Python one; ``tests/auth/test_rules_in_sql.py``
holds the two equal through the database.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeGuard, TypeVar

from sqlalchemy import ColumnElement, and_


class Account(Protocol):
    """What the rule reads of an account (``tracker.auth.models.User``)."""

    is_active: bool


U = TypeVar("U", bound=Account)


class MailKind(enum.Enum):
    """The e-mails a person may turn off, each by the account's column that
    holds the choice."""

    FOLLOWUP_DIGEST = "email_followup_digest"
    MEETING_REMINDERS = "email_meeting_reminders"
    ELIGIBLE_CASES = "email_eligible_cases"
    DRAFT_REMINDERS = "email_draft_reminders"
    MEETING_MINUTES = "email_meeting_minutes"


def may_email(user: U | None, kind: MailKind) -> TypeGuard[U]:
    """An active account whose holder has not turned this kind of e-mail off."""
    return user is not None and bool(user.is_active) and bool(getattr(user, kind.value))


def may_email_sql(user: Any, kind: MailKind) -> ColumnElement[bool]:
    """``may_email`` in SQL; ``user`` is the mapped class (or an alias of it)."""
    return and_(user.is_active.is_(True), getattr(user, kind.value).is_(True))


# --- login throttling ---------------------------------------------------------


@dataclass(frozen=True)
class FailureLimit:
    """How many failed logins one client address, one account name or one known
    browser may make before each further attempt must wait, and how long.

    The wait doubles with every failure past the free ones (1, 2, 4...
    minutes) up to ``longest``: guessing stays slow without ever becoming a
    lock that someone else can keep closed for good.
    """

    free: int
    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(hours=1)

    def wait_after(self, failures: int) -> timedelta:
        """The wait after the last of ``failures`` recent failures."""
        if failures < self.free:
            return timedelta(0)
        # The exponent is bounded: beyond it the wait is the longest anyway.
        doublings: int = 2 ** min(failures - self.free, 30)
        return min(self.first * doublings, self.longest)

    def open_again_at(self, failures: int, last_failure: datetime | None) -> datetime | None:
        """When the next attempt is allowed, or None if it is allowed now or
        at any time (no failures, or fewer than the free ones)."""
        wait = self.wait_after(failures)
        if last_failure is None or not wait:
            return None
        return last_failure + wait

"""Account rules that need no database: whom the product may e-mail.

The SQL form is built beside the Python one; ``tests/auth/test_rules_in_sql.py``
holds the two equal through the database.
"""

from __future__ import annotations

import enum
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

"""Forms that create something are saved once.

A form that creates a record carries a one-time key, issued with the form. The
key is stored, with what it created, in the same transaction as the creation:
the same form sent twice (a double click, a resent page) finds its key and
leads to what was already saved instead of creating it again. When two copies
arrive together, the unique key refuses the second one.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.errors import DomainError
from tracker.core.time import utcnow
from tracker.extensions import Model, db

#: What a key issued by ``new_key`` looks like (and nothing longer is looked up).
KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")

#: How long a used key is kept: far longer than anyone resends a page or
#: reopens a tab left open, and short enough that the table stays small.
KEEP_DAYS = 30


class FormSubmission(Model):
    """A one-time form key, used: what it created, by whom, when."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: What was created ("referral", "guest"...) and its id.
    kind: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AlreadySaved(DomainError):
    """The form's key was used by another request at the same moment."""

    def __init__(self) -> None:
        super().__init__(_l("This was already saved."))


def new_key() -> str:
    return secrets.token_urlsafe(24)


def submission_for(key: str | None) -> FormSubmission | None:
    """What a form with this key already created, if it was saved."""
    if not key or not KEY_PATTERN.fullmatch(key):
        return None
    return db.session.scalar(select(FormSubmission).where(FormSubmission.key == key))


def remember(key: str | None, kind: str, object_id: int, *, user_id: int | None) -> None:
    """Record that this key created ``object_id``, in the current transaction.

    Raises ``AlreadySaved`` when another request stored the same key first
    (the caller rolls back everything it did).
    """
    if not key or not KEY_PATTERN.fullmatch(key):
        return
    db.session.add(FormSubmission(key=key, kind=kind, object_id=object_id, user_id=user_id))
    try:
        db.session.flush()
    except IntegrityError:
        raise AlreadySaved() from None


def forget_old_submissions(now: datetime, keep_days: int = KEEP_DAYS) -> int:
    """Forget keys used more than ``keep_days`` ago (a form that old, sent
    again, is simply refused by its expired CSRF token or saved anew)."""
    return db.session.execute(  # type: ignore[attr-defined]  # a CursorResult (DML)
        delete(FormSubmission).where(FormSubmission.created_at < now - timedelta(days=keep_days))
    ).rowcount

"""Break-the-glass on the audit trail: identities stay masked in the viewer
until an administrator states why they need them; the reason is recorded and
opens the identities to that administrator alone, for a short while."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from tracker.core.audit import AuditAction, record_access
from tracker.core.errors import DomainError, Forbidden
from tracker.core.time import utcnow
from tracker.web.permissions import Role, has_role

logger = logging.getLogger(__name__)

#: How long a stated reason opens the identities.
UNMASKED_MINUTES = 15
#: A reason says something: not a word typed to get through.
REASON_MIN_LENGTH = 10
REASON_MAX_LENGTH = 300


class ReasonTooShort(DomainError):
    pass


@dataclass(frozen=True)
class Unmasked:
    """Identities open to ``user_id`` until ``until`` (UTC), for ``reason``."""

    user_id: int
    until: datetime
    reason: str

    def as_session(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "until": self.until.isoformat(), "reason": self.reason}


def unmask_identities(reason: str, *, by: Any) -> Unmasked:
    """Record the reason (an access entry) and open the identities to ``by``."""
    if not has_role(by, Role.ADMIN):
        raise Forbidden()
    reason = " ".join((reason or "").split())
    if len(reason) < REASON_MIN_LENGTH:
        raise ReasonTooShort(
            _l("Say in a few words why you need the patients' identities."), field="reason"
        )
    until = utcnow() + timedelta(minutes=UNMASKED_MINUTES)
    record_access(
        AuditAction.VIEW,
        "AuditTrail",
        "identities",
        details={"reason": reason[:REASON_MAX_LENGTH], "until": until.isoformat()},
    )
    return Unmasked(by.id, until, reason[:REASON_MAX_LENGTH])


def unmasked_for(stored: Any, user_id: int | None, now: datetime) -> Unmasked | None:
    """The grant kept in the session, if it is this user's and still running."""
    if not isinstance(stored, dict) or user_id is None:
        return None
    try:
        grant = Unmasked(
            int(stored["user_id"]), datetime.fromisoformat(stored["until"]), str(stored["reason"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    if grant.user_id != user_id or grant.until.tzinfo is None or grant.until <= now:
        return None
    return grant

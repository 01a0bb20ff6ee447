"""Patient-reported follow-up: the rules of an invitation (DOMAIN "Patient-reported
follow-up"). Pure functions, no database, no clock of their own.

- An invitation goes out when a time point's window opens, to a patient who
  agreed to electronic contact; reminders follow 2 and 5 days later while it is
  unanswered (at most 2), never once the window has closed.
- Its link works until the window closes and at most 30 days, once: it is
  consumed when the answers are submitted, not when the page is opened.
- The patient confirms their birth date; 5 wrong tries lock the invitation.
- Only a hash of the link's token is kept: the token itself is in the message.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from tracker.core.enums import LabelledEnum, with_labels

#: Bytes of randomness in a link's token: 32 bytes, 256 bits (at least 128).
TOKEN_BYTES = 32


def new_token() -> str:
    """A token for a link: URL-safe, unguessable."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, so the table opens no link."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class InvitationStatus(LabelledEnum):
    PLANNED = "planned"
    SENT = "sent"
    REMINDED = "reminded"
    OPENED = "opened"
    ANSWERED = "answered"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FAILED = "failed"


with_labels(
    InvitationStatus,
    {
        InvitationStatus.PLANNED: _l("Planned"),
        InvitationStatus.SENT: _l("Sent"),
        InvitationStatus.REMINDED: _l("Reminded"),
        InvitationStatus.OPENED: _l("Opened"),
        InvitationStatus.ANSWERED: _l("Answered"),
        InvitationStatus.EXPIRED: _l("Expired"),
        InvitationStatus.REVOKED: _l("Revoked"),
        InvitationStatus.FAILED: _l("Not delivered"),
    },
)

#: An invitation whose link may still be answered.
LIVE = (
    InvitationStatus.PLANNED,
    InvitationStatus.SENT,
    InvitationStatus.REMINDED,
    InvitationStatus.OPENED,
)


def expires_at(
    sent_at: datetime, window_end_on: date, zone: ZoneInfo, longest_days: int
) -> datetime:
    """When a link stops working: the end of the window's last day (local time),
    and at most ``longest_days`` after it was sent."""
    end_of_window = datetime.combine(window_end_on + timedelta(days=1), time(0), tzinfo=zone)
    return min(end_of_window.astimezone(UTC), sent_at + timedelta(days=longest_days))


def reminder_due(
    sent_at: datetime,
    reminders_sent: int,
    now: datetime,
    expires: datetime,
    after_days: Sequence[int],
) -> bool:
    """Whether the next reminder is due: ``after_days[n]`` days after the first
    message for the n-th reminder, while the link still works."""
    if reminders_sent >= len(after_days) or now >= expires:
        return False
    return now >= sent_at + timedelta(days=after_days[reminders_sent])


class Refusal(LabelledEnum):
    """Why a link does not open the questionnaire (said to the patient plainly,
    the same for a forged link as for an expired one where it must be)."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    ANSWERED = "answered"
    REVOKED = "revoked"
    LOCKED = "locked"
    BUSY = "busy"


with_labels(
    Refusal,
    {
        Refusal.UNKNOWN: _l("This link does not work. Please check that you copied it whole."),
        Refusal.EXPIRED: _l("This link has expired. Your team will contact you if needed."),
        Refusal.ANSWERED: _l("These answers have already been sent. Thank you."),
        Refusal.REVOKED: _l("This link is no longer in use. Your team will contact you if needed."),
        Refusal.LOCKED: _l(
            "This link is locked after several wrong dates of birth. Your team has been told "
            "and will contact you."
        ),
        Refusal.BUSY: _l("Too many attempts. Please wait a few minutes and try again."),
    },
)


def refusal(
    status: InvitationStatus, expires: datetime | None, locked: bool, now: datetime
) -> Refusal | None:
    """Why an invitation's link may not be used now, if it may not."""
    if status is InvitationStatus.ANSWERED:
        return Refusal.ANSWERED
    if status is InvitationStatus.REVOKED:
        return Refusal.REVOKED
    if locked:
        return Refusal.LOCKED
    if status not in LIVE or expires is None or now >= expires:
        return Refusal.EXPIRED
    return None

"""E-mail through an outbox: written with the change that causes it, sent later.

Every message is a row of ``outbox_messages`` inserted in the same transaction
as whatever caused it, under a unique key (kind, object, period): a rerun of a
job, or two schedulers at once, insert it once. Sending claims rows first
(a conditional update with a lease), sends, and marks each one sent, so two
senders never send the same row, and a sender that dies after claiming leaves
rows that the next run takes back once the lease has passed.

Messages leave the hospital: they carry case numbers and links, never a
patient's name or identifier.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import ForeignKey, Index, String, Text, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.time import utcnow
from tracker.extensions import Model, db

logger = logging.getLogger(__name__)

#: A claimed message not marked sent after this long belongs to a sender that
#: stopped: another run may take it.
CLAIM_LEASE = timedelta(minutes=10)
#: After this many failed attempts a message waits for an admin's retry.
MAX_ATTEMPTS = 8
BATCH = 50


class Recipient(Protocol):
    """Whom a message goes to: a user account (``tracker.auth``), or an address
    that is no account (``id`` None: a patient invited to answer online)."""

    @property
    def id(self) -> int | None: ...

    @property
    def email(self) -> str: ...


class OutboxMessage(Model):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index(None, "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is about and for which period: unique, so it exists once.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    recipient_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)

    @property
    def has_given_up(self) -> bool:
        return self.sent_at is None and self.attempts >= MAX_ATTEMPTS


#: Messages per INSERT: eight values each, well under SQLite's bound on parameters.
INSERT_BATCH = 500


@dataclass(frozen=True)
class Mail:
    """One message to write: see ``queue_mails``."""

    key: str
    to: Recipient
    subject: str
    body: str


def queue_mail(*, key: str, to: Recipient, subject: str, body: str) -> bool:
    """Write a message to the outbox unless one with ``key`` exists already.

    Returns True when this call created it. Part of the caller's transaction.
    """
    return queue_mails([Mail(key, to, subject, body)]) == 1


def queue_mails(mails: Iterable[Mail]) -> int:
    """``queue_mail`` for many messages, in one statement per ``INSERT_BATCH``
    whatever their number (a job that writes to every clinician runs the same
    queries for one or a hundred). Returns how many this call created; a key
    given twice is written once."""
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for mail in mails:
        key = mail.key[:200]
        rows.setdefault(
            key,
            {
                "dedup_key": key,
                "recipient_id": mail.to.id,
                "recipient_email": mail.to.email,
                "subject": mail.subject[:300],
                "body": mail.body,
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            },
        )
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = list(rows.values())
    created = 0
    for start in range(0, len(values), INSERT_BATCH):
        statement = (
            insert(OutboxMessage)
            .values(values[start : start + INSERT_BATCH])
            .on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(OutboxMessage.id)
        )
        # Rows come back only for the messages this call inserted.
        created += len(db.session.execute(statement).all())
    return created


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    sender: str

    @classmethod
    def from_config(cls, config: Any) -> MailSettings | None:
        if not config.get("MAIL_HOST"):
            return None
        return cls(
            host=config["MAIL_HOST"],
            port=config["MAIL_PORT"],
            security=config["MAIL_SECURITY"],
            user=config.get("MAIL_USER"),
            password=config.get("MAIL_PASSWORD"),
            sender=config["MAIL_SENDER"],
        )


def _connect(settings: MailSettings) -> smtplib.SMTP:
    if settings.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=20, context=ssl.create_default_context()
        )
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=20)
        if settings.security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if settings.user:
        server.login(settings.user, settings.password or "")
    return server


def _claim(now: datetime) -> str:
    """Take up to ``BATCH`` due messages for this sender; returns the claim token."""
    token = secrets.token_hex(16)
    due = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < MAX_ATTEMPTS,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - CLAIM_LEASE),
        )
        .order_by(OutboxMessage.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    # The conditions are repeated in the update: a row another sender claimed
    # in between is left alone (SQLite has no row locks to skip).
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(due.scalar_subquery()),
            OutboxMessage.sent_at.is_(None),
            or_(OutboxMessage.claimed_at.is_(None), OutboxMessage.claimed_at < now - CLAIM_LEASE),
        )
        .values(claimed_at=now, claim_token=token)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2**attempts), timedelta(hours=6))


def deliver_pending(now: datetime | None = None) -> dict[str, int]:
    """Send what is due in the outbox; with no SMTP server set, nothing leaves."""
    settings = MailSettings.from_config(current_app.config)
    if settings is None:
        waiting = db.session.execute(
            select(db.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
        ).scalar_one()
        return {"sent": 0, "failed": 0, "waiting": waiting}
    now = now or utcnow()
    token = _claim(now)
    messages = list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claim_token == token)
            .order_by(OutboxMessage.id)
        )
    )
    sent = failed = 0
    if not messages:
        return {"sent": 0, "failed": 0, "waiting": 0}
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        for message in messages:
            _failed(message, now, error)
        db.session.commit()
        logger.warning("Mail server %s unreachable: %s", settings.host, error)
        return {"sent": 0, "failed": len(messages), "waiting": 0}
    try:
        for message in messages:
            try:
                server.send_message(_email(message, settings))
            except (smtplib.SMTPException, OSError) as error:
                _failed(message, now, error)
                failed += 1
            else:
                message.sent_at = utcnow()
                message.attempts += 1
                message.last_error = None
                sent += 1
            message.claimed_at = None
            message.claim_token = None
            # One commit per message: a crash after a send forgets at most that one.
            db.session.commit()
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            server.quit()
    return {"sent": sent, "failed": failed, "waiting": 0}


def _failed(message: OutboxMessage, now: datetime, error: Exception) -> None:
    message.attempts += 1
    message.last_error = str(error)[:2000]
    message.next_attempt_at = now + _backoff(message.attempts)
    message.claimed_at = None
    message.claim_token = None


def _email(message: OutboxMessage, settings: MailSettings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.sender
    email["To"] = message.recipient_email
    email["Subject"] = message.subject
    # A stable id: should a message ever go twice, mail programs show it once.
    domain = settings.sender.rpartition("@")[2] or "rcp-tracker"
    email["Message-ID"] = f"<outbox-{message.id}@{domain}>"
    email.set_content(message.body)
    return email


def retry(message: OutboxMessage) -> None:
    """An admin asks for another attempt now."""
    message.attempts = 0
    message.next_attempt_at = utcnow()
    message.claimed_at = None
    message.claim_token = None
    db.session.flush()

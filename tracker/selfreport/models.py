"""Invitations to answer a follow-up questionnaire, and the attempts counted to
slow down whoever tries links or birth dates."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.cases.contact import ContactChannel
from tracker.cases.models import Patient, Referral
from tracker.core.audit import Audited
from tracker.core.time import utcnow
from tracker.extensions import Model
from tracker.followups.models import Assessment, FollowUp
from tracker.selfreport.rules import InvitationStatus

__all__ = ["Invitation", "InvitationStatus", "LinkAttempt"]


class Invitation(Audited, Model):
    """A patient asked to answer the questionnaire of one time point, on one
    channel. Only the hash of the link's token is kept."""

    __audit_label__ = _l("Online questionnaire")

    __tablename__ = "invitations"
    __audit_exclude__ = frozenset({"token_hash", "nonce"})
    __table_args__ = (
        # One invitation per time point and channel, even with two schedulers.
        UniqueConstraint("followup_id", "channel"),
        Index(None, "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followups.id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    channel: Mapped[ContactChannel]
    status: Mapped[InvitationStatus] = mapped_column(default=InvitationStatus.PLANNED)
    #: Random, secret: the link's token is derived from it and the site's key
    #: (``services.link_token``); only the token's hash is looked up.
    nonce: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminded_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Wrong birth dates typed on this link; at the limit, it is locked.
    wrong_birth_dates: Mapped[int] = mapped_column(default=0)
    locked_at: Mapped[datetime | None]
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    last_error: Mapped[str | None] = mapped_column(Text)

    followup: Mapped[FollowUp] = relationship()
    referral: Mapped[Referral] = relationship()
    patient: Mapped[Patient] = relationship()
    assessment: Mapped[Assessment | None] = relationship()

    def audit_case_id(self) -> int | None:
        return self.referral_id

    def audit_patient_id(self) -> int | None:
        return self.patient_id


#: Words for the columns of an invitation in the case's history.
FIELD_LABELS = {
    "followup_id": _l("Time point"),
    "channel": _l("Sent by"),
    "status": _l("Status"),
    "created_at": _l("Created"),
    "sent_at": _l("Sent"),
    "reminders_sent": _l("Reminders sent"),
    "last_reminded_at": _l("Last reminded"),
    "opened_at": _l("Opened"),
    "answered_at": _l("Answered"),
    "expires_at": _l("The link works until"),
    "revoked_at": _l("Revoked"),
    "revoked_by_id": _l("Revoked by"),
    "wrong_birth_dates": _l("Wrong dates of birth"),
    "locked_at": _l("Locked"),
    "assessment_id": _l("Assessment"),
    "last_error": _l("Not delivered"),
}


class LinkAttempt(Model):
    """A request on the patient pages, counted per token and per client address
    to slow down guessing (kept in the database: every worker sees them)."""

    __tablename__ = "link_attempts"
    __table_args__ = (Index(None, "key", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "token:<hash prefix>" or "address:<client address>".
    key: Mapped[str] = mapped_column(String(80))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

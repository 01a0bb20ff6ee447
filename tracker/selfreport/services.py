"""Patient-reported follow-up: inviting, reminding, opening a link, checking the
birth date, taking the answers, revoking and opting out.

A link's token is derived from the site's secret key and the invitation's
nonce (``link_token``), so a reminder carries the same link as the first
message; the database keeps only its hash, which opens nothing by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from tracker.auth.models import User
from tracker.auth.notify import notify
from tracker.cases.contact import ContactChannel, is_mobile
from tracker.cases.models import Patient, Referral
from tracker.cases.services import questionnaire_channel
from tracker.core.audit import AuditAction, record_access
from tracker.core.errors import DomainError, Forbidden
from tracker.core.i18n import plain_typography
from tracker.core.mail import queue_mail
from tracker.core.time import site_timezone, to_local, utcnow
from tracker.extensions import db
from tracker.followups import services as followup_services
from tracker.followups.models import Assessment, AssessmentMode, FollowUp, FollowUpStatus
from tracker.followups.rules import still_open_sql
from tracker.selfreport import sms
from tracker.selfreport.models import Invitation, LinkAttempt
from tracker.selfreport.permissions import can_manage_invitation
from tracker.selfreport.rules import (
    LIVE,
    InvitationStatus,
    Refusal,
    expires_at,
    refusal,
    reminder_due,
    token_hash,
)
from tracker.selfreport.settings import BIRTH_DATE_TRIES, LINK_DAYS, reminder_days
from tracker.web.handlers import external_url

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

logger = logging.getLogger(__name__)

#: Channels a patient can answer from: a link in an e-mail or a text message.
ELECTRONIC = (ContactChannel.EMAIL, ContactChannel.SMS)


@dataclass(frozen=True)
class PatientAddress:
    """An e-mail address of a patient, as the outbox takes a recipient."""

    email: str
    id: None = None


# --- links ---------------------------------------------------------------------------


def link_token(invitation: Invitation) -> str:
    """The token in the invitation's link: 256 bits from the site's secret key and
    the invitation's nonce, the same in every message of the invitation."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"invitation:{invitation.nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def team_name() -> str:
    """The team named to patients: the site's ``TRACKER_TEAM_NAME``, else a
    description in the patient's language."""
    return current_app.config.get("TEAM_NAME") or str(_l("Interventional radiology pain team"))


def link_for(invitation: Invitation) -> str:
    """The address the patient opens (``PATIENT_BASE_URL`` when the patient pages
    are served apart, else the site's own)."""
    return patient_url("patient.landing", token=link_token(invitation))


def patient_url(endpoint: str, **values: Any) -> str:
    """An absolute address on the patient pages: ``PATIENT_BASE_URL`` when they
    are served apart (a DMZ), else the site's own address."""
    base = urlsplit(current_app.config.get("PATIENT_BASE_URL") or current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, url_scheme=base.scheme or "http", script_name=base.path or "/"
    )
    return adapter.build(endpoint, values, force_external=True)


def find(token: str) -> Invitation | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))


def why_not(invitation: Invitation | None, now: datetime) -> Refusal | None:
    """Why a link does not open the questionnaire now (None: it does)."""
    if invitation is None:
        return Refusal.UNKNOWN
    return refusal(invitation.status, invitation.expires_at, invitation.locked_at is not None, now)


# --- who may be invited --------------------------------------------------------------


def _electronic() -> tuple[ContactChannel, ...]:
    """The channels invitations go out on at this site."""
    return ELECTRONIC if sms.enabled() else (ContactChannel.EMAIL,)


def windows_opening(today: date) -> list[FollowUp]:
    """Planned time points whose window is open today, with no invitation yet, of
    patients who agreed to be contacted electronically."""
    invited = select(Invitation.followup_id).where(Invitation.followup_id == FollowUp.id)
    return list(
        db.session.scalars(
            select(FollowUp)
            .join(Referral, Referral.id == FollowUp.referral_id)
            .join(Patient, Patient.id == Referral.patient_id)
            .where(
                FollowUp.status == FollowUpStatus.PLANNED,
                FollowUp.window_start_on <= today,
                still_open_sql(FollowUp.window_end_on, today),
                Patient.contact_consent_on.is_not(None),
                Patient.preferred_channel.in_(_electronic()),
                ~invited.exists(),
            )
            .order_by(FollowUp.id)
        )
    )


# --- sending -------------------------------------------------------------------------


def invite(followup: FollowUp, now: datetime) -> Invitation | None:
    """Invite the patient to answer ``followup``'s questionnaire and send the
    message; None when they cannot be reached or another scheduler did it."""
    patient = followup.referral.patient
    channel = questionnaire_channel(patient)
    if channel is None or followup.window_end_on is None:
        return None
    nonce = secrets.token_hex(16)
    invitation = Invitation(
        followup_id=followup.id,
        referral_id=followup.referral_id,
        patient_id=patient.id,
        channel=channel,
        nonce=nonce,
        token_hash="",
        created_at=now,
        expires_at=expires_at(now, followup.window_end_on, site_timezone(), LINK_DAYS.value),
    )
    invitation.token_hash = token_hash(link_token(invitation))
    try:
        with db.session.begin_nested():
            db.session.add(invitation)
            db.session.flush()
    except IntegrityError:
        return None  # invited meanwhile, by another scheduler
    _send(invitation, 0, now)
    return invitation


def _message(invitation: Invitation, stage: int) -> tuple[str, str]:
    """Subject and text of a message: the team and the link, nothing else (no
    name, diagnosis, procedure or hospital number)."""
    patient = invitation.patient
    language = (
        patient.preferred_language.value
        if patient.preferred_language
        else current_app.config["BABEL_DEFAULT_LOCALE"]
    )
    with force_locale(language):
        context = {
            "link": link_for(invitation),
            "stop": patient_url("patient.stop", token=link_token(invitation)),
            "team": team_name(),
            "reminder": stage > 0,
            "until": to_local(invitation.expires_at) if invitation.expires_at else None,
        }
        subject = render_template("selfreport/message_subject.txt", **context).strip()
        if invitation.channel is ContactChannel.SMS:
            sms = render_template("selfreport/message.sms.txt", **context).strip()
            return subject, plain_typography(sms)
        return subject, render_template("selfreport/message.txt", **context)


def _send(invitation: Invitation, stage: int, now: datetime) -> bool:
    """Send the first message (stage 0) or a reminder; record how it went.

    Nothing is retried behind the team's back: a first message the gateway
    refuses leaves the invitation FAILED (the case page and the worklist say so,
    and offer to send it again); a refused reminder counts as one, its error
    kept, and the link already sent keeps working."""
    subject, text = _message(invitation, stage)
    patient = invitation.patient
    try:
        if invitation.channel is ContactChannel.EMAIL:
            queue_mail(
                key=f"invitation:{invitation.id}:{invitation.nonce[:8]}:{stage}",
                to=PatientAddress(patient.email or ""),
                subject=subject,
                body=text,
            )
        else:
            number = next((n for n in patient.phones if is_mobile(n)), None)
            if number is None:
                raise sms.SmsError("no mobile number")
            sms.send(number, text)
    except sms.SmsError as error:
        logger.warning("Invitation %s not delivered: %s", invitation.id, error)
        invitation.last_error = str(error)[:2000]
        if stage == 0:
            invitation.status = InvitationStatus.FAILED
        else:
            invitation.reminders_sent = stage
        db.session.flush()
        return False
    invitation.last_error = None
    if stage == 0:
        invitation.status = InvitationStatus.SENT
        invitation.sent_at = now
    else:
        if invitation.status is InvitationStatus.SENT:
            invitation.status = InvitationStatus.REMINDED
        invitation.reminders_sent = stage
        invitation.last_reminded_at = now
    db.session.flush()
    return True


def remind_due(now: datetime) -> int:
    """Send the reminders that are due; how many went."""
    after = reminder_days()
    sent = 0
    for invitation in db.session.scalars(
        select(Invitation)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .where(
            # Recorded by the team meanwhile (or marked missed): nothing to remind.
            FollowUp.status == FollowUpStatus.PLANNED,
            Invitation.status.in_(LIVE),
            Invitation.sent_at.is_not(None),
            Invitation.locked_at.is_(None),
            Invitation.reminders_sent < len(after),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.id)
    ):
        if invitation.sent_at is None or invitation.expires_at is None:
            continue
        if reminder_due(
            invitation.sent_at, invitation.reminders_sent, now, invitation.expires_at, after
        ):
            sent += _send(invitation, invitation.reminders_sent + 1, now)
    return sent


def expire(now: datetime) -> int:
    """Mark the invitations whose link has stopped working as expired."""
    expired = db.session.scalars(
        select(Invitation).where(Invitation.status.in_(LIVE), Invitation.expires_at <= now)
    ).all()
    for invitation in expired:
        invitation.status = InvitationStatus.EXPIRED
    db.session.flush()
    return len(expired)


# --- the patient's side --------------------------------------------------------------

#: Requests allowed per client address and per link, in ``ATTEMPT_WINDOW``.
PER_ADDRESS = 30
PER_LINK = 15
ATTEMPT_WINDOW = timedelta(minutes=10)


def too_many(keys: list[str], now: datetime) -> dict[str, int]:
    """Count this request under each key; the keys over their limit, each with
    how many requests past it (1: this one is the first refused)."""
    since = now - ATTEMPT_WINDOW
    db.session.execute(delete(LinkAttempt).where(LinkAttempt.attempted_at < since - ATTEMPT_WINDOW))
    over: dict[str, int] = {}
    for key in keys:
        limit = PER_LINK if key.startswith("link:") else PER_ADDRESS
        db.session.add(LinkAttempt(key=key[:80], attempted_at=now))
        db.session.flush()
        count = db.session.execute(
            select(func.count())
            .select_from(LinkAttempt)
            .where(LinkAttempt.key == key[:80], LinkAttempt.attempted_at >= since)
        ).scalar_one()
        if count > limit:
            over[key] = count - limit
    return over


def opened(invitation: Invitation, now: datetime) -> None:
    """The link was opened (which does not use it up: mail scanners open links)."""
    if invitation.opened_at is None:
        invitation.opened_at = now
        if invitation.status in (InvitationStatus.SENT, InvitationStatus.REMINDED):
            invitation.status = InvitationStatus.OPENED
        db.session.flush()


def check_birth_date(invitation: Invitation, born_on: date | None, now: datetime) -> bool:
    """Whether ``born_on`` is the patient's; a wrong one is counted, and at the
    limit the link is locked and the follow-up owner told."""
    if born_on is not None and born_on == invitation.patient.birth_on:
        record_attempt(invitation, AuditAction.LOGIN, {"birth_date": "confirmed"})
        return True
    # Counted in one statement, so that simultaneous tries are all counted; the
    # session hook does not see it, so the try is written to the trail here.
    db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id)
        .values(wrong_birth_dates=Invitation.wrong_birth_dates + 1)
    )
    db.session.refresh(invitation, ["wrong_birth_dates"])
    record_attempt(
        invitation,
        AuditAction.LOGIN_FAILED,
        {"birth_date": "wrong", "wrong_birth_dates": invitation.wrong_birth_dates},
    )
    if invitation.wrong_birth_dates >= BIRTH_DATE_TRIES.value and invitation.locked_at is None:
        invitation.locked_at = now
        db.session.flush()
        _tell_owner(invitation, "selfreport_locked", _l("RCP Tracker: a patient's link was locked"))
    return False


def record_attempt(
    invitation: Invitation | None, action: AuditAction, details: dict[str, Any]
) -> None:
    """An attempt on a link, in the audit trail: on its invitation (and so in
    the case's history) when the link is a real one. Recorded at once, even on
    a refusal: these requests write anyway (the attempts counted)."""
    record_access(
        action,
        "Invitation",
        invitation.id if invitation is not None else "",
        referral_id=invitation.referral_id if invitation is not None else None,
        patient_id=invitation.patient_id if invitation is not None else None,
        details=details,
        at_once=True,
    )


def answer(invitation: Invitation, values: dict[str, Any], now: datetime) -> Assessment:
    """The patient's answers: an assessment of the invitation's time point,
    marked patient-reported, recorded once; the owner is told at once when the
    pain is back."""
    reason = why_not(invitation, now)
    if reason is not None:
        raise DomainError(reason.label)
    # Claimed in one statement, so that two tabs (or a replayed request) record
    # the answers once.
    claimed = cast(
        "CursorResult[Any]",
        db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.status.in_(LIVE))
            .values(status=InvitationStatus.ANSWERED, answered_at=now)
        ),
    ).rowcount
    if claimed != 1:
        raise DomainError(Refusal.ANSWERED.label)
    db.session.refresh(invitation)
    followup = invitation.followup
    values = {
        **values,
        "assessed_on": to_local(now).date(),
        "mode": AssessmentMode.SELF_REPORTED,
    }
    assessment = followup_services.log_assessment(
        invitation.referral,
        values,
        by=None,
        followup=followup if followup.status is FollowUpStatus.PLANNED else None,
        patient_reported=True,
    )
    invitation.assessment = assessment
    db.session.flush()
    if followup_services.is_pain_back(assessment):
        _tell_owner(
            invitation,
            "selfreport_pain_back",
            _l("RCP Tracker: a patient reports the pain is back"),
        )
    return assessment


def opt_out(invitation: Invitation, now: datetime) -> int:
    """The patient asks for no more messages: consent withdrawn, every open
    invitation of theirs revoked. How many were revoked."""
    patient = invitation.patient
    patient.contact_consent_on = None
    patient.contact_consent_by_id = None
    patient.contact_opted_out_on = to_local(now).date()
    return _revoke_all(patient, now, None)


def _revoke_all(patient: Patient, now: datetime, by: User | None) -> int:
    open_ones = db.session.scalars(
        select(Invitation).where(Invitation.patient_id == patient.id, Invitation.status.in_(LIVE))
    ).all()
    for invitation in open_ones:
        invitation.status = InvitationStatus.REVOKED
        invitation.revoked_at = now
        invitation.revoked_by_id = by.id if by is not None else None
    db.session.flush()
    return len(open_ones)


# --- the team's side -----------------------------------------------------------------


def revoke(invitation: Invitation, *, by: User) -> None:
    if not can_manage_invitation(by, invitation):
        raise Forbidden()
    if invitation.status not in LIVE:
        raise DomainError(_l("This invitation is no longer open."))
    invitation.status = InvitationStatus.REVOKED
    invitation.revoked_at = utcnow()
    invitation.revoked_by_id = by.id
    db.session.flush()


def may_resend(invitation: Invitation, now: datetime) -> bool:
    """Whether the message can be sent again: the link still works, or the first
    message was not delivered and the link has not reached its end."""
    if invitation.status is InvitationStatus.FAILED:
        return (
            invitation.locked_at is None
            and invitation.expires_at is not None
            and now < invitation.expires_at
        )
    return why_not(invitation, now) is None


def resend(invitation: Invitation, *, by: User) -> bool:
    """Send the message again (the same link), for a patient who lost it or
    whose first message was not delivered; whether it went."""
    if not can_manage_invitation(by, invitation):
        raise Forbidden()
    now = utcnow()
    if not may_resend(invitation, now):
        raise DomainError(_l("This invitation is no longer open."))
    if invitation.sent_at is None:
        return _send(invitation, 0, now)
    return _send(invitation, invitation.reminders_sent + 1, now)


def link_to_read(invitation: Invitation, *, by: User) -> str:
    """The link, for a clinician to read to the patient on the phone; who read
    it, and when, is kept in the audit trail."""
    if not can_manage_invitation(by, invitation):
        raise Forbidden()
    if why_not(invitation, utcnow()) is not None:
        raise DomainError(_l("This invitation is no longer open."))
    record_access(
        AuditAction.VIEW,
        "Invitation",
        invitation.id,
        referral_id=invitation.referral_id,
        patient_id=invitation.patient_id,
        details={"link": "read out"},
    )
    return link_for(invitation)


def _tell_owner(invitation: Invitation, template: str, subject: Any) -> None:
    owner = invitation.followup.responsible
    if owner is None or not owner.is_active:
        return
    notify(
        owner,
        f"{template}:{invitation.id}",
        template,
        subject,
        case_url=external_url("cases.show", referral_id=invitation.referral_id),
        case_number=invitation.referral.case_number,
    )


__all__ = [
    "answer",
    "check_birth_date",
    "expire",
    "find",
    "invite",
    "opt_out",
    "remind_due",
    "resend",
    "revoke",
    "why_not",
    "windows_opening",
]

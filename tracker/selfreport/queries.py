"""Reading invitations for the team: a case's invitations, what the worklist
says of a time point's invitation, and the owner's alerts (pains back, locked
links). Each is one query whatever the number of rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.cases.models import Referral
from tracker.catalogue.models import Technique
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.followups.models import Assessment, AssessmentMode, FollowUp
from tracker.followups.rules import pain_back_sql
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import LIVE, InvitationStatus

#: How far back the owner's home lists pains reported back and locked links.
ALERT_DAYS = 30
#: At most this many of each on the home page (the most recent first).
ALERT_ROWS = 10

#: What the worklist says of a time point whose patient was invited (an open
#: invitation, or one whose first message did not go).
REMARKS = {
    InvitationStatus.PLANNED: _l("invited, not sent yet"),
    InvitationStatus.SENT: _l("invited, sent"),
    InvitationStatus.REMINDED: _l("invited, reminded"),
    InvitationStatus.OPENED: _l("invited, opened"),
    InvitationStatus.FAILED: _l("invited, not delivered"),
}
LOCKED_REMARK = _l("invited, link locked")


def case_invitations(referral_id: int) -> list[Invitation]:
    """A case's invitations, oldest first, with their time points."""
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.referral_id == referral_id)
            .options(joinedload(Invitation.followup))
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def worklist_remarks(followup_ids: Iterable[int]) -> dict[int, str]:
    """What the worklist says of each listed time point's invitation (the
    latest, when the patient was invited on two channels): one query."""
    ids = list(followup_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Invitation.followup_id, Invitation.status, Invitation.locked_at)
        .where(
            Invitation.followup_id.in_(ids),
            Invitation.status.in_((*LIVE, InvitationStatus.FAILED)),
        )
        .order_by(Invitation.id)
    )
    return {
        followup_id: str(LOCKED_REMARK if locked_at is not None else REMARKS[status])
        for followup_id, status, locked_at in rows
    }


def _owned(user_id: int) -> Any:
    """Invitations whose time point ``user_id`` follows up."""
    return (
        select(Invitation)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .where(FollowUp.responsible_id == user_id)
        .options(
            joinedload(Invitation.referral).joinedload(Referral.patient),
            joinedload(Invitation.followup),
        )
        .limit(ALERT_ROWS)
    )


def pains_back(user_id: int, today: date) -> list[Invitation]:
    """The owner's patients whose own answers, in the last ``ALERT_DAYS``, say
    the pain has come back (by the rule the verdict uses: ``rules.pain_back``),
    the latest first, with their assessment: one query."""
    return list(
        db.session.scalars(
            _owned(user_id)
            .join(Assessment, Assessment.id == Invitation.assessment_id)
            .join(Procedure, Procedure.id == Assessment.procedure_id)
            .join(Technique, Technique.id == Procedure.technique_id)
            .join(Referral, Referral.id == Assessment.referral_id)
            .where(
                Assessment.mode == AssessmentMode.SELF_REPORTED,
                Assessment.assessed_on > today - timedelta(days=ALERT_DAYS),
                pain_back_sql(
                    Referral.nrs_average,
                    Assessment.nrs_average,
                    Assessment.pain_is_back,
                    Procedure.performed_on,
                    Assessment.assessed_on,
                    Technique.counts_from_day,
                    Technique.recurrence_pct,
                ),
            )
            .options(joinedload(Invitation.assessment))
            .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())
        ).unique()
    )


def locked_links(user_id: int, now: datetime) -> list[Invitation]:
    """The owner's invitations locked after wrong birth dates in the last
    ``ALERT_DAYS`` (someone else may have tried the link): one query."""
    return list(
        db.session.scalars(
            _owned(user_id)
            .where(Invitation.locked_at > now - timedelta(days=ALERT_DAYS))
            .order_by(Invitation.locked_at.desc(), Invitation.id.desc())
        ).unique()
    )

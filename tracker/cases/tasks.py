"""Background jobs of referrals: reminders of drafts left incomplete."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.notify import notify
from tracker.auth.rules import MailKind, may_email
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus, missing_labels
from tracker.cases.settings import DRAFT_DAYS
from tracker.core.scheduler import JobSpec
from tracker.extensions import db
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)


def draft_reminders(now: datetime) -> dict[str, int]:
    days = DRAFT_DAYS.value
    drafts = db.session.scalars(
        select(Referral)
        .where(
            Referral.status == CaseStatus.DRAFT, Referral.created_at <= now - timedelta(days=days)
        )
        .options(joinedload(Referral.referrer), joinedload(Referral.created_by))
    ).all()
    queued = 0
    for referral in drafts:
        person = referral.referrer or referral.created_by
        if not may_email(person, MailKind.DRAFT_REMINDERS):
            continue
        # Once per period of ``days``: a reminder a week, not one a day.
        period = (now - referral.created_at).days // days
        queued += notify(
            person,
            f"draft-reminder:{referral.id}:{period}",
            "draft_reminder",
            _l("RCP Tracker: %(case)s is still a draft", case=referral.case_number),
            referral=referral,
            missing=missing_labels(referral),
            link=external_url("cases.edit", referral_id=referral.id),
        )
    return {"drafts": len(drafts), "queued": queued}


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "drafts",
        draft_reminders,
        lambda zone: CronTrigger(hour=8, minute=0, timezone=zone),
        _l("Remind referrers of incomplete referrals"),
    ),
]

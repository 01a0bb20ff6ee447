"""Background jobs of follow-up: the clinicians' digest and the retreatment verdicts."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.auth.notify import Notice, notify, notify_all
from tracker.auth.rules import MailKind, may_email, may_email_sql
from tracker.core.scheduler import JobSpec
from tracker.core.time import to_local
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.followups import queries as followup_queries
from tracker.followups import services as followup_services
from tracker.followups.explain import explain_all
from tracker.followups.models import CaseVerdict, FollowUp, FollowUpStatus
from tracker.followups.rules import interval_passed_sql, out_of_window_sql, still_open_sql
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)


#: Follow-ups closed per batch (each one audited).
CLOSE_BATCH = 500


def close_windows(now: datetime) -> dict[str, int]:
    """Stamp "missed (out of window)" on planned follow-ups whose window has closed
    with no assessment (pages already show them so; this keeps it on the record)."""
    today = to_local(now).date()
    closed = 0
    while True:
        batch = db.session.scalars(
            select(FollowUp)
            .where(
                FollowUp.status == FollowUpStatus.PLANNED,
                out_of_window_sql(FollowUp.window_end_on, today),
            )
            .order_by(FollowUp.id)
            .limit(CLOSE_BATCH)
        ).all()
        for followup in batch:
            followup.status = FollowUpStatus.OUT_OF_WINDOW
        db.session.flush()
        closed += len(batch)
        if len(batch) < CLOSE_BATCH:
            return {"closed": closed}


def followup_digest(now: datetime) -> dict[str, int]:
    today = to_local(now).date()
    rows = db.session.scalars(
        select(FollowUp)
        .where(
            FollowUp.status == FollowUpStatus.PLANNED,
            FollowUp.due_on <= today,
            still_open_sql(FollowUp.window_end_on, today),
        )
        .options(
            joinedload(FollowUp.referral),
            joinedload(FollowUp.procedure).joinedload(Procedure.technique),
            joinedload(FollowUp.responsible),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    by_person: dict[int, list[FollowUp]] = defaultdict(list)
    people: dict[int, User] = {}
    for followup in rows:
        person = followup.responsible
        if not may_email(person, MailKind.FOLLOWUP_DIGEST):
            continue
        by_person[person.id].append(followup)
        people[person.id] = person
    queued = notify_all(
        Notice(
            people[person_id],
            f"followup-digest:{person_id}:{today.isoformat()}",
            "followup_digest",
            ngettext(
                "RCP Tracker: %(num)d follow-up to do",
                "RCP Tracker: %(num)d follow-ups to do",
                len(due),
            ),
            {
                "followups": due,
                "overdue": sum(1 for followup in due if followup.due_on < today),
                "today": today,
                "worklist": external_url("followups.worklist", responsible_id=person_id),
            },
        )
        for person_id, due in by_person.items()
    )
    return {
        "due": sum(len(v) for v in by_person.values()),
        "clinicians": len(by_person),
        "queued": queued,
    }


def retreatment(now: datetime) -> dict[str, int]:
    today = to_local(now).date()
    # Verdicts that change with time alone: the minimum interval has passed.
    stale = db.session.scalars(
        select(CaseVerdict)
        .where(interval_passed_sql(CaseVerdict, today))
        .options(joinedload(CaseVerdict.referral))
    ).all()
    for row in stale:
        followup_services.refresh_verdict(row.referral, today)
    queued = 0
    # Only the cases whose referrer has not been told yet: a referrer hears of a
    # case once, and the daily run does not go through the whole backlog again.
    eligible = followup_queries.eligible_cases(today, limit=10_000, not_yet_told=True)
    referrer_ids = {row.referral.referrer_id for row in eligible} - {None}
    referrers = {
        user.id: user
        for user in db.session.scalars(
            select(User).where(
                User.id.in_(referrer_ids), may_email_sql(User, MailKind.ELIGIBLE_CASES)
            )
        )
    }
    for row in eligible:
        referral = row.referral
        referrer = referrers.get(referral.referrer_id)
        if referrer is None:
            continue  # no referrer, or one who may not be e-mailed (told once they may)
        queued += notify(
            referrer,
            f"{followup_queries.ELIGIBLE_KEY}{referral.id}",
            "eligible",
            _l(
                "RCP Tracker: %(case)s may be eligible for re-discussion", case=referral.case_number
            ),
            referral=referral,
            reasons=explain_all(row.reasons),
            link=external_url("cases.show", referral_id=referral.id),
        )
        # Told, whether this run wrote the message or found it written already.
        row.referrer_told_at = now
    return {"refreshed": len(stale), "eligible": len(eligible), "queued": queued}


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "windows",
        close_windows,
        lambda zone: CronTrigger(hour=6, minute=15, timezone=zone),
        _l("Mark follow-ups whose window closed with no assessment as missed (out of window)"),
    ),
    JobSpec(
        "followups",
        followup_digest,
        lambda zone: CronTrigger(hour=7, minute=0, timezone=zone),
        _l("Daily digest of due and overdue follow-ups for each clinician"),
    ),
    JobSpec(
        "retreatment",
        retreatment,
        lambda zone: CronTrigger(hour=6, minute=30, timezone=zone),
        _l("Update retreatment verdicts and tell referrers of newly eligible cases"),
    ),
]

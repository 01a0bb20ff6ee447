"""Background job of decisions: proposals still pending are flagged to the referrer."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as ngettext
from sqlalchemy import update

from tracker.auth.models import User
from tracker.auth.notify import notify
from tracker.core.scheduler import JobSpec
from tracker.core.time import site_timezone, to_local
from tracker.decisions import queries
from tracker.decisions.models import ProcedurePlan
from tracker.decisions.settings import PENDING_DAYS
from tracker.extensions import db
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)

#: The dedup key of a referrer's message of one day: each proposal is told once
#: (``pending_told_at``), in one message per referrer and day.
PENDING_KEY = "proposal-pending:"


def pending_proposals(now: datetime) -> dict[str, int]:
    """Tell the referrer of each proposal of a procedure still pending
    ``PENDING_DAYS`` after its validation (DOMAIN "Decision follow-through"),
    once: one message per referrer listing their cases (case numbers and links,
    nothing else of the patient). A fixed number of queries per referrer, not
    per proposal: the first run after an upgrade may find thousands."""
    today = to_local(now).date()
    days = int(PENDING_DAYS.value)
    # Validated on or before ``today - days`` (``rules.pending_too_long``).
    before = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=site_timezone())
    plans = queries.proposals_pending_since(before)
    by_referrer: dict[int, tuple[User, list[ProcedurePlan]]] = {}
    for plan in plans:
        referrer = plan.decision.referral.referrer
        if referrer is None or not referrer.is_active:
            continue  # no referrer to tell (told once there is one)
        by_referrer.setdefault(referrer.id, (referrer, []))[1].append(plan)
    queued = 0
    for referrer, own in by_referrer.values():
        cases = [
            (
                plan.decision.referral.case_number,
                external_url("cases.show", referral_id=plan.decision.referral_id),
            )
            for plan in own
        ]
        queued += notify(
            referrer,
            f"{PENDING_KEY}{referrer.id}:{today.isoformat()}",
            "proposal_pending",
            ngettext(
                "RCP Tracker: a proposed procedure is still pending",
                "RCP Tracker: %(num)d proposed procedures are still pending",
                len(cases),
            ),
            cases=cases,
            days=days,
        )
    told = [plan.id for _referrer, own in by_referrer.values() for plan in own]
    if told:
        # Told, whether this run wrote the message or found it written already.
        # Bookkeeping of the messages, not clinical data: one statement.
        db.session.execute(
            update(ProcedurePlan)
            .where(ProcedurePlan.id.in_(told))
            .values(pending_told_at=now)
            .execution_options(synchronize_session=False)
        )
    return {"pending": len(plans), "queued": queued}


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "pending_proposals",
        pending_proposals,
        lambda zone: CronTrigger(hour=6, minute=45, timezone=zone),
        _l("Tell referrers of proposed procedures still pending after a set number of days"),
    ),
]

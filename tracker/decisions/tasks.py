"""Background job of decisions: proposals still pending are flagged to the referrer."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l

from tracker.auth.notify import notify
from tracker.core.scheduler import JobSpec
from tracker.core.time import site_timezone, to_local
from tracker.decisions import queries
from tracker.decisions.settings import PENDING_DAYS
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)

#: The dedup key of the message about one plan: a referrer hears of it once.
PENDING_KEY = "proposal-pending:"


def pending_proposals(now: datetime) -> dict[str, int]:
    """Tell the referrer of each proposal of a procedure still pending
    ``PENDING_DAYS`` after its validation (DOMAIN "Decision follow-through").
    The message names the case number and links to it; nothing else of the
    patient."""
    today = to_local(now).date()
    days = int(PENDING_DAYS.value)
    # Validated on or before ``today - days`` (``rules.pending_too_long``).
    before = datetime.combine(today - timedelta(days=days - 1), time(0), tzinfo=site_timezone())
    plans = queries.proposals_pending_since(before)
    queued = 0
    for plan in plans:
        referral = plan.decision.referral
        referrer = referral.referrer
        if referrer is None or not referrer.is_active:
            continue  # no referrer to tell (told once there is one)
        queued += notify(
            referrer,
            f"{PENDING_KEY}{plan.id}",
            "proposal_pending",
            _l(
                "RCP Tracker: the procedure proposed for %(case)s is still pending",
                case=referral.case_number,
            ),
            case_number=referral.case_number,
            days=days,
            link=external_url("cases.show", referral_id=referral.id),
        )
        # Told, whether this run wrote the message or found it written already.
        plan.pending_told_at = now
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

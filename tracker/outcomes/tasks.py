"""Background job of the outcomes: the unit's figures kept for meeting mode."""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l

from tracker.core.scheduler import JobSpec
from tracker.outcomes.evidence import refresh

#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "evidence",
        refresh,
        # Before the working day, after the follow-up jobs of the morning.
        lambda zone: CronTrigger(hour=7, minute=15, timezone=zone),
        _l("Compute the unit's results shown beside the plan in meeting mode"),
    ),
]

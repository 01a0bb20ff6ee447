"""Background jobs of logins."""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l

from tracker.auth import services as auth_services
from tracker.auth.directory import get_directory
from tracker.core.scheduler import JobSpec

logger = logging.getLogger(__name__)


def sessions(now: datetime) -> dict[str, int]:
    return {
        "closed": auth_services.close_lapsed_sessions(now),
        "forgotten": auth_services.forget_old_login_failures(now),
    }


def directory_accounts(now: datetime) -> dict[str, int]:
    """Deactivate the directory accounts the hospital directory no longer lists."""
    directory = get_directory()
    if directory is None:
        return {"checked": 0, "deactivated": 0}
    return auth_services.deactivate_unlisted_directory_accounts(directory, now)


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "sessions",
        sessions,
        lambda zone: CronTrigger(hour=3, minute=30, timezone=zone),
        _l("Close login sessions that ran out and forget old failed logins"),
    ),
    JobSpec(
        "directory_accounts",
        directory_accounts,
        lambda zone: CronTrigger(hour=3, minute=40, timezone=zone),
        _l("Deactivate the accounts that the hospital directory no longer lists"),
    ),
]

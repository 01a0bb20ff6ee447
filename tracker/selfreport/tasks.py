"""The job of patient-reported follow-up: invitations as windows open, reminders
while they are unanswered, and links that stop working."""

from __future__ import annotations

from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from flask_babel import lazy_gettext as _l

from tracker.core.scheduler import JobSpec
from tracker.core.time import to_local
from tracker.selfreport import services
from tracker.selfreport.rules import InvitationStatus


def invite_patients(now: datetime) -> dict[str, int]:
    """Invite the patients whose time point's window opened, remind those who
    have not answered, expire the links past their date."""
    today = to_local(now).date()
    expired = services.expire(now)
    invitations = [services.invite(followup, now) for followup in services.windows_opening(today)]
    sent = [invitation for invitation in invitations if invitation is not None]
    # Said in the job's record too: a message the gateway refused is not retried.
    failed = sum(invitation.status is InvitationStatus.FAILED for invitation in sent)
    reminded = services.remind_due(now)
    return {
        "invited": len(sent) - failed,
        "not_delivered": failed,
        "reminded": reminded,
        "expired": expired,
    }


#: The jobs of this feature, run by the scheduler process. Mid-morning, when a
#: message is read and the team is there to answer a call about it.
JOBS = [
    JobSpec(
        "invitations",
        invite_patients,
        lambda zone: CronTrigger(hour=10, minute=0, timezone=zone),
        _l("Invite patients to report their pain online, and remind them"),
    ),
]

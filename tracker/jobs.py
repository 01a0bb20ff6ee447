"""The background jobs of RCP Tracker, declared with their ids and timing.

Each job takes the current time, sweeps what is due and returns counts. They
are idempotent: notifications are written under unique keys (kind, object,
period), so a rerun, a crash half-way or two schedulers at once never send
anything twice.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.auth import services as auth_services
from tracker.auth.models import User
from tracker.auth.rules import MailKind, may_email, may_email_sql
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus, missing_labels
from tracker.core.db import refresh_statistics
from tracker.core.errors import DomainError
from tracker.core.handlers import external_url
from tracker.core.mail import deliver_pending, queue_mail
from tracker.core.scheduler import job
from tracker.core.settings import SettingSpec, define_setting, setting
from tracker.core.time import site_timezone, to_local
from tracker.decisions.models import Procedure
from tracker.extensions import db
from tracker.followups import queries as followup_queries
from tracker.followups import services as followup_services
from tracker.followups.explain import explain_all
from tracker.followups.models import CaseVerdict, FollowUp, FollowUpStatus
from tracker.followups.rules import interval_passed_sql
from tracker.meetings import services as meeting_services
from tracker.meetings.models import OPEN, AgendaItem, ItemState, Meeting, MeetingStatus

logger = logging.getLogger(__name__)

REMINDER_DAYS = define_setting(
    SettingSpec(
        key="meeting_reminder_days",
        default=2,
        minimum=0,
        maximum=14,
        label=_l("Remind presenters and team this many days before a meeting"),
    )
)
ROLLOVER_HOURS = define_setting(
    SettingSpec(
        key="meeting_rollover_hours",
        default=3,
        minimum=1,
        maximum=72,
        label=_l("Hours after a meeting's end before its undiscussed cases roll over"),
        help=_l("If the coordinator has not marked the meeting held by then."),
    )
)
DRAFT_DAYS = define_setting(
    SettingSpec(
        key="draft_reminder_days",
        default=7,
        minimum=1,
        maximum=90,
        label=_l("Remind the referrer of a draft left this many days"),
    )
)


def _notify(user: User, key: str, template: str, subject: Any, **context: Any) -> bool:
    """Write one message in the recipient's language (``subject`` is a lazy
    string, translated here); False if it exists already."""
    language = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        body = render_template(
            f"mail/{template}.txt",
            user=user,
            preferences=external_url("core.notifications"),
            **context,
        )
        return queue_mail(key=key, to=user, subject=str(subject), body=body)


def _local_day(now: datetime) -> Any:
    return to_local(now).date()


# --- logins -------------------------------------------------------------------


@job(
    "sessions",
    lambda zone: CronTrigger(hour=3, minute=30, timezone=zone),
    _l("Close login sessions that ran out and forget old failed logins"),
)
def sessions(now: datetime) -> dict[str, int]:
    return {
        "closed": auth_services.close_lapsed_sessions(now),
        "forgotten": auth_services.forget_old_login_failures(now),
    }


# --- mail ---------------------------------------------------------------------


@job(
    "outbox",
    lambda zone: IntervalTrigger(minutes=1, timezone=zone),
    _l("Send the e-mails waiting in the outbox"),
)
def send_outbox(now: datetime) -> dict[str, int]:
    return deliver_pending(now)


# --- follow-up ------------------------------------------------------------------


@job(
    "followups",
    lambda zone: CronTrigger(hour=7, minute=0, timezone=zone),
    _l("Daily digest of due and overdue follow-ups for each clinician"),
)
def followup_digest(now: datetime) -> dict[str, int]:
    today = _local_day(now)
    rows = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.status == FollowUpStatus.PLANNED, FollowUp.due_on <= today)
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
    queued = 0
    for person_id, due in by_person.items():
        overdue = sum(1 for followup in due if followup.due_on < today)
        queued += _notify(
            people[person_id],
            f"followup-digest:{person_id}:{today.isoformat()}",
            "followup_digest",
            _l("RCP Tracker: %(n)d follow-ups to do", n=len(due)),
            followups=due,
            overdue=overdue,
            today=today,
            worklist=external_url("followups.worklist", responsible_id=person_id),
        )
    return {
        "due": sum(len(v) for v in by_person.values()),
        "clinicians": len(by_person),
        "queued": queued,
    }


@job(
    "retreatment",
    lambda zone: CronTrigger(hour=6, minute=30, timezone=zone),
    _l("Update retreatment verdicts and tell referrers of newly eligible cases"),
)
def retreatment(now: datetime) -> dict[str, int]:
    today = _local_day(now)
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
        queued += _notify(
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


# --- meetings -------------------------------------------------------------------


@job(
    "meetings",
    lambda zone: IntervalTrigger(minutes=15, timezone=zone),
    _l("Remind presenters and team before meetings; roll over cases after them"),
)
def meetings(now: datetime) -> dict[str, int]:
    reminded = _remind(now)
    rolled = 0
    ended_before = now - timedelta(hours=setting(ROLLOVER_HOURS.key))
    candidates = db.session.scalars(
        select(Meeting).where(Meeting.status.in_(list(OPEN)), Meeting.starts_at < ended_before)
    ).all()
    closed = 0
    for meeting in candidates:
        if meeting.ends_at >= ended_before:
            continue
        try:
            rolled += len(meeting_services.hold_meeting(meeting, by=None))
        except DomainError:
            continue  # closed meanwhile by its coordinator or another scheduler
        closed += 1
        logger.info("Meeting %s closed by the scheduler after its end", meeting.id)
    return {"reminders": reminded, "meetings_closed": closed, "cases_rolled_over": rolled}


def _remind(now: datetime) -> int:
    horizon = now + timedelta(days=setting(REMINDER_DAYS.key))
    coming = db.session.scalars(
        select(Meeting)
        .where(
            Meeting.status == MeetingStatus.PLANNED,
            Meeting.starts_at > now,
            Meeting.starts_at <= horizon,
        )
        .options(
            joinedload(Meeting.items).joinedload(AgendaItem.referral),
            joinedload(Meeting.chair),
            joinedload(Meeting.coordinator),
        )
    ).unique()
    queued = 0
    for meeting in coming:
        pending = [item for item in meeting.items if item.state is ItemState.PENDING]
        people: dict[int, set[str]] = defaultdict(set)
        for item in pending:
            if item.presenter_id:
                people[item.presenter_id].add(item.referral.case_number)
            if item.referral.referrer_id:
                people.setdefault(item.referral.referrer_id, set())
        for user_id in (meeting.chair_id, meeting.coordinator_id):
            if user_id:
                people.setdefault(user_id, set())
        users = db.session.scalars(
            select(User).where(
                User.id.in_(list(people)), may_email_sql(User, MailKind.MEETING_REMINDERS)
            )
        ).all()
        stamp = to_local(meeting.starts_at).strftime("%Y%m%d%H%M")
        for user in users:
            queued += _notify(
                user,
                f"meeting-reminder:{meeting.id}:{user.id}:{stamp}",
                "meeting_reminder",
                _l("RCP Tracker: coming meeting"),
                meeting=meeting,
                cases=[item.referral.case_number for item in pending],
                presenting=sorted(people[user.id]),
                link=external_url("meetings.show", meeting_id=meeting.id),
            )
    return queued


# --- referrals ------------------------------------------------------------------


@job(
    "drafts",
    lambda zone: CronTrigger(hour=8, minute=0, timezone=zone),
    _l("Remind referrers of incomplete referrals"),
)
def draft_reminders(now: datetime) -> dict[str, int]:
    days = setting(DRAFT_DAYS.key)
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
        queued += _notify(
            person,
            f"draft-reminder:{referral.id}:{period}",
            "draft_reminder",
            _l("RCP Tracker: %(case)s is still a draft", case=referral.case_number),
            referral=referral,
            missing=missing_labels(referral),
            link=external_url("cases.edit", referral_id=referral.id),
        )
    return {"drafts": len(drafts), "queued": queued}


# --- backups --------------------------------------------------------------------


@job(
    "backup",
    lambda zone: CronTrigger(hour=2, minute=15, timezone=zone),
    _l("Back up the SQLite database (PostgreSQL uses its own tools)"),
)
def backup(now: datetime) -> dict[str, int]:
    # ``.engine`` of an engine is itself (of a connection, its engine).
    url = db.engine.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        logger.info(
            "Backups of %s belong to the database's own tooling (pg_dump, WAL archiving)",
            url.get_backend_name(),
        )
        return {"skipped": 1}
    # The night's housekeeping: the query planner's statistics.
    refresh_statistics(db.session.connection())
    folder = Path(current_app.config["BACKUP_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"tracker-{now.astimezone(site_timezone()):%Y%m%d-%H%M%S}.db"
    make_backup(Path(url.database), target)
    removed = prune_backups(folder, now, current_app.config["BACKUP_KEEP_DAYS"])
    return {"written": 1, "removed": removed, "bytes": target.stat().st_size}


def make_backup(source: Path, target: Path) -> None:
    """A consistent online copy (the sqlite3 backup API), checked before it is kept.

    The check is ``quick_check``: every page and b-tree of the copy is read and
    verified, which is what a page-by-page copy can get wrong; the full
    ``integrity_check`` also cross-checks every index against its table, which
    the copy cannot change, and takes six times as long (5 s at 100,000 cases).
    """
    partial = target.with_suffix(".partial")
    with sqlite3.connect(source) as live, sqlite3.connect(partial) as copy:
        live.backup(copy)
        result = copy.execute("PRAGMA quick_check").fetchone()[0]
    live.close()
    copy.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"The backup failed its integrity check: {result}")
    partial.rename(target)


def prune_backups(folder: Path, now: datetime, keep_days: int) -> int:
    limit = now.timestamp() - keep_days * 86400
    removed = 0
    for old in folder.glob("tracker-*.db"):
        if old.stat().st_mtime < limit:
            old.unlink()
            removed += 1
    return removed

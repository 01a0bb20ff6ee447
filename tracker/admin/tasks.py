"""Background jobs that keep the site running: the outbox, the backups, the
audit trail's checkpoints, and forgetting the used keys of forms saved once."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from tracker.auth.models import User, UserRole
from tracker.auth.notify import notify
from tracker.core.checkpoints import Checkpoint, latest_checkpoint, write_checkpoint
from tracker.core.db import refresh_statistics
from tracker.core.mail import deliver_pending
from tracker.core.once import KEEP_DAYS, forget_old_submissions
from tracker.core.scheduler import JobSpec
from tracker.core.time import site_timezone
from tracker.extensions import db
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)


def send_outbox(now: datetime) -> dict[str, int]:
    return deliver_pending(now)


def form_keys(now: datetime) -> dict[str, int]:
    return {"forgotten": forget_old_submissions(now)}


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


def audit_checkpoint(now: datetime) -> dict[str, int]:
    """The head of the audit trail, appended to a file of the day in the backup
    folder: outside the database, where truncating or rewriting the trail
    cannot reach (see ``tracker.core.checkpoints``); and, if the site asks for
    it (``TRACKER_AUDIT_CHECKPOINT_MAIL``), e-mailed to the administrators."""
    folder = Path(current_app.config["BACKUP_DIR"])
    counts = write_checkpoint(db.session.connection(), folder, now)
    checkpoint = latest_checkpoint(folder)
    if current_app.config.get("AUDIT_CHECKPOINT_MAIL") and "entry" in counts and checkpoint:
        counts["mailed"] = mail_checkpoint(checkpoint)
    return counts


def mail_checkpoint(checkpoint: Checkpoint) -> int:
    """The checkpoint to each active administrator, once."""
    admins = db.session.scalars(
        select(User)
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    return sum(
        notify(
            admin,
            f"audit-checkpoint:{checkpoint.entry_id}",
            "audit_checkpoint",
            _l("RCP Tracker: audit trail checkpoint (entry %(entry)d)", entry=checkpoint.entry_id),
            checkpoint=checkpoint,
        )
        for admin in admins
    )


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


#: The jobs of this feature, run by the scheduler process.
JOBS = [
    JobSpec(
        "outbox",
        send_outbox,
        lambda zone: IntervalTrigger(minutes=1, timezone=zone),
        _l("Send the e-mails waiting in the outbox"),
    ),
    JobSpec(
        "backup",
        backup,
        lambda zone: CronTrigger(hour=2, minute=15, timezone=zone),
        _l("Back up the SQLite database (PostgreSQL uses its own tools)"),
    ),
    JobSpec(
        "audit_checkpoint",
        audit_checkpoint,
        lambda zone: CronTrigger(hour=2, minute=5, timezone=zone),
        _l("Check the audit trail and write its newest entry to a file in the backup folder"),
    ),
    JobSpec(
        "form_keys",
        form_keys,
        lambda zone: CronTrigger(hour=3, minute=45, timezone=zone),
        _l("Forget the one-time keys of forms saved more than %(n)d days ago", n=KEEP_DAYS),
    ),
]

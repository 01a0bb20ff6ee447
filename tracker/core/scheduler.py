"""Background jobs, run by one dedicated APScheduler process.

``flask --app tracker scheduler run`` is the only place jobs run on a timer:
never inside web workers, where each of N gunicorn workers would run every
job N times. Jobs are declared in code with explicit ids; each run happens in
an application context, is logged and recorded (``job_runs``), and is safe to
repeat: jobs sweep rows that are due and write notifications under unique keys.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import JSON, Index, String, Text, func, select
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core import signals
from tracker.core.audit import acting_as
from tracker.core.db import writing
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.time import site_timezone, utcnow
from tracker.extensions import Model, db

logger = logging.getLogger(__name__)

#: How late a run may start after its planned time (APScheduler's default is
#: one second, which silently skips runs after a pause or a slow start).
MISFIRE_GRACE_SECONDS = 15 * 60


@dataclass(frozen=True)
class JobSpec:
    """A background job: ``run(now) -> counts``, declared in a feature's ``tasks.py``."""

    id: str
    run: Callable[[datetime], dict[str, int]]
    #: Builds the APScheduler trigger in the site's time zone.
    trigger: Callable[[ZoneInfo], Any]
    description: Any


def jobs() -> list[JobSpec]:
    """Every job the features declare on ``signals.jobs`` (in their ``tasks.py``)."""
    return list(signals.collected(signals.jobs))


def get_job(job_id: str) -> JobSpec | None:
    return next((spec for spec in jobs() if spec.id == job_id), None)


class RunOutcome(LabelledEnum):
    OK = "ok"
    FAILED = "failed"


with_labels(RunOutcome, {RunOutcome.OK: "OK", RunOutcome.FAILED: "Failed"})


class JobRun(Model):
    """One run of a job: when, how it ended, what it did."""

    __tablename__ = "job_runs"
    __table_args__ = (Index(None, "job_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[RunOutcome]
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    #: host:pid of the process that ran it.
    runner: Mapped[str] = mapped_column(String(120))


def run_job(job_id: str, now: datetime | None = None) -> JobRun:
    """Run a job once now, commit its work, record the run (even a failed one)."""
    spec = get_job(job_id)
    if spec is None:
        raise KeyError(f"no job {job_id!r}")
    started = utcnow()
    now = now or started
    logger.info("Job %s starting", job_id)
    counts: dict[str, int] = {}
    error = None
    with acting_as(f"scheduler:{job_id}"), writing():
        try:
            counts = spec.run(now) or {}
            db.session.commit()
            outcome = RunOutcome.OK
        except Exception as failure:
            db.session.rollback()
            outcome = RunOutcome.FAILED
            error = f"{type(failure).__name__}: {failure}"[:4000]
            logger.exception("Job %s failed", job_id)
    record = JobRun(
        job_id=job_id,
        started_at=started,
        finished_at=utcnow(),
        outcome=outcome,
        counts=counts,
        error=error,
        runner=f"{socket.gethostname()}:{os.getpid()}"[:120],
    )
    db.session.add(record)
    db.session.commit()
    logger.info("Job %s finished: %s %s", job_id, outcome.name, counts)
    return record


def last_runs() -> dict[str, JobRun]:
    """The latest run of each job, in one query."""
    latest = (
        select(JobRun.job_id, func.max(JobRun.id).label("id")).group_by(JobRun.job_id).subquery()
    )
    rows = db.session.scalars(select(JobRun).join(latest, JobRun.id == latest.c.id))
    return {run.job_id: run for run in rows}


def next_run(spec: JobSpec, now: datetime | None = None) -> datetime | None:
    zone = site_timezone()
    return spec.trigger(zone).get_next_fire_time(None, (now or utcnow()).astimezone(zone))


def _run_in_context(app: Flask, job_id: str) -> None:
    with app.app_context():
        run_job(job_id)


def build_scheduler(app: Flask) -> Any:
    """A blocking scheduler with every declared job (not started)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    zone = site_timezone()
    scheduler = BlockingScheduler(
        timezone=zone,
        job_defaults={
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
            "coalesce": True,  # after a pause, one catch-up run, not one per missed slot
            "max_instances": 1,
        },
    )
    for spec in jobs():
        scheduler.add_job(
            _run_in_context,
            trigger=spec.trigger(zone),
            args=[app, spec.id],
            id=spec.id,
            name=spec.id,
            replace_existing=True,
        )
    return scheduler

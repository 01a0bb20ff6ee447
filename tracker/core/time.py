"""The application's clock and the site's time zone.

All code asks ``utcnow()`` for the time instead of ``datetime.now`` so that
tests (and the scheduler's ``run-once``) can freeze it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Europe/Paris"


def _system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _system_clock


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return _clock()


@contextmanager
def use_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Make ``utcnow()`` ask ``clock`` (returning aware datetimes) inside the block."""
    global _clock
    previous = _clock
    _clock = clock
    try:
        yield
    finally:
        _clock = previous


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[None]:
    """Make ``utcnow()`` return ``moment`` (an aware datetime) inside the block."""
    if moment.tzinfo is None:
        raise ValueError("frozen_clock needs a timezone-aware datetime")
    with use_clock(lambda: moment.astimezone(UTC)):
        yield


def site_timezone() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def local_now() -> datetime:
    """The current time in the site's time zone."""
    return utcnow().astimezone(site_timezone())


def local_today() -> date:
    """Today's date where the hospital is (not in UTC)."""
    return local_now().date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(site_timezone())

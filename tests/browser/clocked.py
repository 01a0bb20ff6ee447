"""The application on a fixed calendar, for the browser journeys: the site's clock
starts on Wednesday 18 November 2026 at 10:00 in Paris when the server starts, and
runs on from there (``flask --app tests.browser.clocked:app`` or gunicorn)."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

from tracker import create_app
from tracker.core.time import use_clock

START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
#: When the server started, shared by the CLI commands and every worker.
_STARTED = float(os.environ.get("TRACKER_JOURNEY_STARTED", time.time()))


def _ticking() -> datetime:
    return START + timedelta(seconds=time.time() - _STARTED)


_keep = ExitStack()
_keep.enter_context(use_clock(_ticking))

app = create_app()

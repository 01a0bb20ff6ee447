"""Small writes that a read-only request makes once its response is ready.

A page that only reads (GET) still has a few things to write: the audit entry
saying who opened a case, the time a login session was last used.  Writing them
inside the page's own transaction would make every page view take the write
lock for as long as it renders; instead they wait until the response is ready
and are written in one short transaction of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, g

from tracker.core.db import writing
from tracker.extensions import db

logger = logging.getLogger(__name__)

_KEY = "_writes_after_response"


def write_after_response(callback: Callable[[Response], None]) -> None:
    """Call ``callback(response)`` in a write transaction once the response is ready."""
    g.setdefault(_KEY, []).append(callback)


def run_writes_after_response(response: Response) -> Response:
    """``after_request`` hook.  A failure here fails the request: a case page
    whose opening cannot be recorded is not shown."""
    callbacks = g.pop(_KEY, None)
    if not callbacks:
        return response
    # The request's own transaction is over: a GET only read, and a POST view
    # has committed what it meant to.
    db.session.rollback()
    with writing():
        for callback in callbacks:
            callback(response)
        db.session.commit()
    return response

"""E-mails to the team, written in each person's own language."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from tracker.auth.models import User
from tracker.core.mail import queue_mail
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)


def notify(user: User, key: str, template: str, subject: Any, **context: Any) -> bool:
    """Write one message in the recipient's language (``subject`` is a lazy
    string, translated here); False if it exists already."""
    language = user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]
    with force_locale(language):
        body = render_template(
            f"mail/{template}.txt",
            user=user,
            preferences=external_url("auth.notifications"),
            **context,
        )
        return queue_mail(key=key, to=user, subject=str(subject), body=body)

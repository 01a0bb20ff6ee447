"""E-mails to the team, written in each person's own language."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale

from tracker.auth.models import User
from tracker.core.mail import Mail, queue_mails
from tracker.web.handlers import external_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One message for ``notify_all``: the arguments of ``notify``."""

    user: User
    key: str
    template: str
    subject: Any
    context: dict[str, Any] = field(default_factory=dict)


def notify(user: User, key: str, template: str, subject: Any, **context: Any) -> bool:
    """Write one message in the recipient's language (``subject`` is a lazy
    string, translated here); False if it exists already."""
    return notify_all([Notice(user, key, template, subject, context)]) == 1


def notify_all(notices: Iterable[Notice]) -> int:
    """``notify`` for many messages, all written to the outbox together (the
    queries do not grow with their number); how many were new."""
    preferences = external_url("auth.notifications")
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    mails = []
    for notice in notices:
        with force_locale(notice.user.locale or default):
            body = render_template(
                f"mail/{notice.template}.txt",
                user=notice.user,
                preferences=preferences,
                **notice.context,
            )
            mails.append(Mail(notice.key, notice.user, str(notice.subject), body))
    return queue_mails(mails)

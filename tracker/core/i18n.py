"""Language helpers for data that admins type in both languages."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app, has_request_context
from flask_babel import format_date, format_datetime, get_locale, to_user_timezone
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


def first_of_month(text: str, day: int) -> str:
    """French writes the first day of a month as an ordinal ("1er déc. 2026")."""
    if day == 1 and current_language() == "fr" and text.startswith("1 "):
        return "1er " + text[2:]
    return text


def day_text(value: date | datetime | None, pattern: str) -> str:
    """A date (or a moment, at the site) in the reader's language and with
    ``pattern``, the first of a month as French writes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return first_of_month(format_datetime(value, pattern), to_user_timezone(value).day)
    return first_of_month(format_date(value, pattern), value.day)


def current_language() -> str:
    if has_request_context():
        locale = get_locale()
        if locale is not None:
            return locale.language
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


class Bilingual:
    """A catalogue entry named in English and in French.

    Catalogue entries are data edited by admins, so their names cannot go
    through the gettext catalogue; each row carries both names instead.
    """

    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))

    @property
    def name(self) -> str:
        return self.name_fr if current_language() == "fr" else self.name_en

    def __str__(self) -> str:
        return self.name

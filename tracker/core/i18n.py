"""Language helpers for data that admins type in both languages."""

from __future__ import annotations

from flask import current_app, has_request_context
from flask_babel import get_locale
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


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

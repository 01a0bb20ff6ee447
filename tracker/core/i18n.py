"""Language helpers for data that admins type in both languages."""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import current_app, has_app_context, has_request_context
from flask_babel import LazyString, format_date, format_datetime, get_locale, to_user_timezone
from markupsafe import Markup
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


def clock_time(value: datetime) -> str:
    """A moment's time of day at the site, on a 24-hour clock ("17:05"): what
    Babel's "HH:mm" writes in both languages (two ASCII digits each), without
    its pattern machinery, as agendas write one for every line."""
    if isinstance(value, datetime):
        return to_user_timezone(value).strftime("%H:%M")
    return format_datetime(value, "HH:mm")


def lazy_day(value: date) -> LazyString:
    """A day inside a sentence that is written out later, in the reader's
    language ("24 nov. 2026", never "2026-11-24"): for messages built where
    no request is at hand, such as a rule's refusal."""
    return LazyString(_day_in_words, value)


def _day_in_words(value: date) -> str:
    # Outside the app (a rule checked on its own) there is no reader: ISO.
    return day_text(value, "d MMM y") if has_app_context() else value.isoformat()


def current_language() -> str:
    if has_request_context():
        locale = get_locale()
        if locale is not None:
            return locale.language
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


_COMMON_FIRST_WORD = re.compile(r"[^\W\d_][^\W\d_A-Z]+(?=[\s/,(]|$)")


def in_sentence(name: str) -> str:
    """A catalogue name set inside a sentence: "Nouvelle séance de cryoneurolyse".

    Names are typed as list items, with a capital; inside a sentence a common
    noun takes none. Only a first word in plain title case loses its capital:
    an acronym ("IRM"), a word with a second capital or a possessive
    ("Morton's neuroma") is kept as typed.
    """
    match = _COMMON_FIRST_WORD.match(name)
    if match is None or "'" in match.group(0) or not name[:1].isupper():
        return name
    if any(character.isupper() for character in match.group(0)[1:]):
        return name
    return name[:1].lower() + name[1:]


class Bilingual:
    """A catalogue entry named in English and in French.

    Catalogue entries are data edited by admins, so their names cannot go
    through the gettext catalogue; each row carries both names instead.
    """

    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))

    @property
    def name(self) -> str:
        """The name in the reader's language; in French, with French typography
        (an apostrophe typed as in English reads as French prints it)."""
        return french_typography(self.name_fr) if current_language() == "fr" else self.name_en

    @property
    def name_in_sentence(self) -> str:
        """The name as it reads inside a sentence (see ``in_sentence``)."""
        return in_sentence(self.name)

    def __str__(self) -> str:
        return self.name


# French typography (Imprimerie nationale's rules, as French readers expect them):
# a word space that never breaks (U+00A0) before ":" and "%" and inside « »,
# where French puts a full space; a thin one (U+202F) before ";", "?" and "!",
# where French puts a thin space. Both keep the mark on the line of its word.
NBSP = "\u00a0"
NNBSP = "\u202f"
APOSTROPHE = "\u2019"

# What is not prose keeps its characters: markup, entities, addresses, code and
# the placeholders a translation fills in. Each is set aside, the prose is
# fixed, then each is put back.
_UNTOUCHED = re.compile(
    r"<[A-Za-z/!][^>]*>"  # an HTML tag, with its attributes
    r"|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);"  # an HTML entity
    r"|\b[A-Za-z][A-Za-z0-9+.-]*://\S+|\bmailto:\S+|\bwww\.\S+"  # an address
    r"|`[^`]*`"  # code
    r"|%%"  # a percent sign, in a catalogue's formatted text: kept as prose
    r"|%\([^)]*\)[-#0 +]*\d*(?:\.\d+)?[a-zA-Z]|%[-#0+]*\d*(?:\.\d+)?[sdifr]"  # %(x)s, %d
    r"|\{[^{}]*\}"  # {x}
)
_SET_ASIDE = "\ue000"  # private-use: never in text people type
_SPACES = f"[ {NBSP}{NNBSP}]*"
# ":" that ends a phrase (not "14:30", not "1:2"): a full non-breaking space.
_COLON = re.compile(rf"(?<=[^\s{NBSP}{NNBSP}]){_SPACES}(?=:(?:\s|$|{_SET_ASIDE}|[»)\]]))")
# A fragment that begins with " : " (it follows other text).
_LEADING_COLON = re.compile(rf"^[ {NBSP}{NNBSP}]+:(?=\s|$)")
# ";", "?", "!" (the first of "?!"): a thin one.
_THIN = re.compile(rf"(?<=[^\s{NBSP}{NNBSP};?!]){_SPACES}(?=[;?!](?![\w=/]))")
# A percent sign after a number ("30 %"; "%%" in a catalogue's formatted text).
_PERCENT = re.compile(rf"(?<=[\d{_SET_ASIDE}]){_SPACES}(?=%)")
_OPENING_QUOTE = re.compile(rf"«{_SPACES}")
_CLOSING_QUOTE = re.compile(rf"{_SPACES}»")


def french_typography(text: str) -> str:
    """French text as French typesets it: the typographic apostrophe, and the
    non-breaking spaces before ``: ; ? ! %`` and inside « ».

    Only prose changes: tags and their attributes, entities, addresses, code,
    placeholders (``%(name)s``, ``{name}``), times ("14:30") and ratios stay
    as they are. Applying it twice changes nothing more.
    """
    escaped = isinstance(text, Markup)
    kept: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        found = match.group(0)
        if found == "%%":
            return found
        if escaped and found in ("&#39;", "&#x27;"):
            return "'"  # escaped text writes an apostrophe so, outside tags: prose
        kept.append(found)
        return _SET_ASIDE

    prose = _UNTOUCHED.sub(set_aside, str(text))
    prose = prose.replace("'", APOSTROPHE)
    prose = _COLON.sub(NBSP, prose)
    prose = _LEADING_COLON.sub(NBSP + ":", prose)
    prose = _THIN.sub(NNBSP, prose)
    prose = _PERCENT.sub(NBSP, prose)
    prose = _OPENING_QUOTE.sub("«" + NBSP, prose)
    prose = _CLOSING_QUOTE.sub(NBSP + "»", prose)
    restored = iter(kept)
    result = re.sub(_SET_ASIDE, lambda _match: next(restored), prose)
    if escaped:
        return Markup(result)  # noqa: S704  # nosec B704: the same markup, only prose changed
    return result


def plain_typography(text: str) -> str:
    """``text`` in the characters of a text message's 7-bit alphabet: ordinary
    spaces and the ASCII apostrophe. One character outside it makes the whole
    message Unicode, 70 characters a part instead of 160."""
    return text.replace(NBSP, " ").replace(NNBSP, " ").replace(APOSTROPHE, "'")


def typography(text: str | None) -> str:
    """``text`` with the reader's language's typography (``|typo`` in templates)."""
    if text is None:
        return ""
    return french_typography(text) if current_language() == "fr" else text

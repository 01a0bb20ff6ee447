"""English and French: the browser's choice, the switch, and a complete catalogue."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.factories import make_user
from tests.html import soup, text
from tracker.auth.models import User
from tracker.extensions import db

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "tracker/translations/fr/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHOD_MAP = [
    ("tracker/**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.txt", "jinja2"),
]


def test_the_browser_language_is_used(client):
    page = soup(client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}))
    assert page.html["lang"] == "fr"
    assert page.find("h1").get_text(strip=True) == "Se connecter"
    page = soup(client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert page.html["lang"] == "en"
    assert page.find("h1").get_text(strip=True) == "Log in"


def test_unsupported_browser_language_falls_back_to_english(client):
    page = soup(client.get("/login", headers={"Accept-Language": "de-DE"}))
    assert page.html["lang"] == "en"


def test_switching_language_is_remembered_by_the_browser(client):
    response = client.post("/language", data={"lang": "fr", "next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = soup(client.get("/login", headers={"Accept-Language": "en"}))
    assert page.html["lang"] == "fr"
    assert "Mot de passe" in text(page)


def test_switching_language_is_remembered_on_the_account(app, client, auth):
    user = make_user()
    auth.login_as(user)
    client.post("/language", data={"lang": "fr", "next": "/"})
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "fr"

    other_browser = app.test_client()
    other_browser.post(
        "/login", data={"email": user.email, "password": "a long enough test password"}
    )
    page = soup(other_browser.get("/", headers={"Accept-Language": "en"}))
    assert page.html["lang"] == "fr"
    assert "Bonjour" in text(page)


def test_unknown_language_or_outside_target_changes_nothing(client):
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert client.get_cookie("rcp_lang") is None


def test_form_validation_messages_are_french_too(client):
    response = client.post(
        "/login", data={"email": "", "password": ""}, headers={"Accept-Language": "fr"}
    )
    assert response.status_code == 422
    assert "Ce champ est requis." in text(soup(response))


def _singular(msgid: str | tuple[str, ...]) -> str:
    return msgid if isinstance(msgid, str) else msgid[0]


def _forms(msgstr: str | tuple[str, ...]) -> tuple[str, ...]:
    return (msgstr,) if isinstance(msgstr, str) else msgstr


def test_french_catalogue_is_complete():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="fr")
    translated = {
        _singular(message.id) for message in catalogue if message.id and all(_forms(message.string))
    }
    fuzzy = [message.id for message in catalogue if message.id and message.fuzzy]
    in_code = {
        _singular(message[2])
        for message in extract_from_dir(str(ROOT), METHOD_MAP, keywords=KEYWORDS)
    }
    untranslated = sorted(in_code - translated)
    assert untranslated == [], "run `make i18n` and translate these"
    assert fuzzy == []


def test_french_translations_keep_their_placeholders():
    with CATALOGUE.open("rb") as fh:
        catalogue = read_po(fh, locale="fr")
    problems = [(message.id, errors) for message, errors in catalogue.check()]
    assert problems == []


def test_french_writes_the_first_of_a_month_as_an_ordinal(app):
    from datetime import UTC, date, datetime

    from flask_babel import force_locale

    from tracker.core.i18n import day_text

    with app.test_request_context():
        with force_locale("fr"):
            assert day_text(date(2026, 12, 1), "d MMM y") == "1er déc. 2026"
            assert day_text(date(2026, 12, 11), "d MMM y") == "11 déc. 2026"
            # A moment is dated at the site: 23:30 UTC on 30 November is 1 December.
            moment = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
            assert day_text(moment, "d MMM y, HH:mm") == "1er déc. 2026, 00:30"
        with force_locale("en"):
            assert day_text(date(2026, 12, 1), "d MMM y") == "1 Dec 2026"


def test_the_time_filter_writes_what_babel_writes_in_both_languages(app):
    """Agendas write a time for every line through a shortcut: the same text as
    Babel's "HH:mm" at the site, either side of a change of clocks, naive (UTC)
    or aware, in English and French."""
    from datetime import UTC, datetime, timedelta, timezone

    from flask_babel import force_locale, format_datetime

    from tracker.core.i18n import clock_time

    moments = [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # an hour before clocks go forward
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 16, 5),  # noqa: DTZ001 - naive: UTC
        datetime(2026, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ]
    with app.test_request_context():
        for language in ("en", "fr"):
            with force_locale(language):
                for moment in moments:
                    assert clock_time(moment) == format_datetime(moment, "HH:mm"), moment

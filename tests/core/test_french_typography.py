"""French typography: one function, applied to the catalogue and, as ``|typo``,
to French sentences built from data; a scan keeps the catalogue to its rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import render_template_string
from flask_babel import force_locale
from markupsafe import Markup

from tracker.core.i18n import APOSTROPHE as A
from tracker.core.i18n import NBSP, NNBSP, french_typography, in_sentence

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "tracker/translations/fr/LC_MESSAGES/messages.po"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Quorum atteint: oui", f"Quorum atteint{NBSP}: oui"),
        ("Quorum atteint : oui", f"Quorum atteint{NBSP}: oui"),
        ("Comment va votre douleur ?", f"Comment va votre douleur{NNBSP}?"),
        ("Vraiment?!", f"Vraiment{NNBSP}?!"),
        ("un plan ; une date", f"un plan{NNBSP}; une date"),
        ("Enregistré!", f"Enregistré{NNBSP}!"),
        ("l'ordre du jour d'aujourd'hui", f"l{A}ordre du jour d{A}aujourd{A}hui"),
        ("30% de moins", f"30{NBSP}% de moins"),
        ("%(pct)d%% de moins", f"%(pct)d{NBSP}%% de moins"),
        ("«%(status)s»", f"«{NBSP}%(status)s{NBSP}»"),
        (" : %(reason)s", f"{NBSP}: %(reason)s"),
        # Times, ratios, addresses, placeholders and markup stay as they are.
        ("à 14:30, rapport 1:2", "à 14:30, rapport 1:2"),
        ("voir https://rcp.example/a?b=1&c=2!", "voir https://rcp.example/a?b=1&c=2!"),
        ("<a href='/?x' title=\"a:b\">l'aide</a>", f"<a href='/?x' title=\"a:b\">l{A}aide</a>"),
        ("&amp; &nbsp; &#233;", "&amp; &nbsp; &#233;"),
        ("{name}: {when}", f"{{name}}{NBSP}: {{when}}"),
        ("`a:b` et `c'd`", "`a:b` et `c'd`"),
    ],
)
def test_french_typography(text, expected):
    assert french_typography(text) == expected
    assert french_typography(expected) == expected


def test_escaped_text_keeps_its_markup():
    typeset = french_typography(Markup("l&#39;aide : <b title='d&#39;ici'>ici</b>"))
    assert isinstance(typeset, Markup)
    assert typeset == f"l{A}aide{NBSP}: <b title='d&#39;ici'>ici</b>"


def test_the_typo_filter_sets_french_only(app):
    with app.test_request_context():
        with force_locale("fr"):
            assert render_template_string("{{ text|typo }}", text="Prévu: l'IRM") == (
                f"Prévu{NBSP}: l{A}IRM"
            )
        with force_locale("en"):
            assert render_template_string("{{ text|typo }}", text="Due: the MRI's") == (
                "Due: the MRI&#39;s"
            )


def _catalogue():
    with CATALOGUE.open("rb") as fh:
        return [message for message in read_po(fh, locale="fr") if message.id]


def _texts(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


# What a translation fills in or points to is not prose.
_NOT_PROSE = re.compile(r"%\([^)]*\)\w|%%|https?://\S*|<[^>]*>|\{[^{}]*\}")


def _prose(text: str) -> str:
    return _NOT_PROSE.sub("x", text)


def test_no_ascii_apostrophe_in_french():
    found = [
        (message.context, message.id)
        for message in _catalogue()
        if any("'" in _prose(form) for form in _texts(message.string))
    ]
    assert found == [], "U+2019 in French: run `python -m tracker.core.french_catalogue`"


def test_french_punctuation_has_its_non_breaking_space():
    # ":" ending a phrase takes U+00A0; ";", "?", "!" take U+202F. "14:30" is a time.
    colon = re.compile(rf"(?<!{NBSP}):(?!\d)")
    thin = re.compile(rf"(?<![{NNBSP};?!])[;?!]")
    found = [
        (message.context, message.id, form)
        for message in _catalogue()
        for form in _texts(message.string)
        if colon.search(_prose(form).lstrip(":")) or thin.search(_prose(form))
    ]
    assert found == []


def test_every_french_translation_is_already_typeset():
    found = [
        (message.context, message.id, form)
        for message in _catalogue()
        for form in _texts(message.string)
        if french_typography(form) != form
    ]
    assert found == []


def test_no_parenthesised_plural_or_gender():
    # "dossier(s)", "né(e)": a count takes ngettext; a person, a wording that fits all.
    parenthesised = re.compile(r"\w\((?:s|e|es|x|ne|le)\)")
    found = [
        (message.context, message.id)
        for message in _catalogue()
        if any(parenthesised.search(text) for text in _texts(message.id) + _texts(message.string))
    ]
    assert found == []


# Counts that are settings with a floor above 1 (a password's length, a login's
# hours): French and English never meet their singular.
SETTINGS_ABOVE_ONE = {
    "At least %(n)d characters; a sentence is easier to remember.",
    "Use at least %(n)d characters.",
    "Only on a computer that is yours alone. The login still ends after %(hours)d hours, "
    "or sooner when unused.",
    # Constants: the nightly upkeep's 30 days, the audit viewer's 15 minutes, the
    # search's cap of 200 results.
    "More than %(num)d cases match this search: refine it to see the others.",
    "For example: the patient asked who opened their file. The reason is recorded; "
    "identities stay shown to you for %(minutes)d minutes.",
    "Forget the one-time keys of forms saved more than %(n)d days ago",
}


def test_a_count_in_a_sentence_is_a_plural_entry():
    # "%(n)d cases", "%(done)d of %(total)d decided": French says "0 dossier", "1 dossier
    # décidé sur 2", so the wording follows the count through ngettext.
    counted = re.compile(r"%\(\w+\)d(?: of %\(\w+\)d)? [a-z-]{2,}s\b|%\(\w+\)d of %\(\w+\)d \w+")
    found = [
        message.id
        for message in _catalogue()
        if isinstance(message.id, str)
        and counted.search(message.id)
        and message.id not in SETTINGS_ABOVE_ONE
    ]
    assert found == []


@pytest.mark.parametrize(
    ("name", "in_a_sentence"),
    [
        ("Cryoneurolyse / cryoablation d'un nerf", "cryoneurolyse / cryoablation d'un nerf"),
        ("Névrome de Morton", "névrome de Morton"),
        ("Radiofréquence (thermique ou pulsée)", "radiofréquence (thermique ou pulsée)"),
        # A proper noun, an acronym or a name with a second capital keeps its capital.
        ("Morton's neuroma", "Morton's neuroma"),
        ("IRM de contrôle", "IRM de contrôle"),
        ("McKenzie method", "McKenzie method"),
        ("", ""),
    ],
)
def test_a_catalogue_name_inside_a_sentence(name, in_a_sentence):
    assert in_sentence(name) == in_a_sentence

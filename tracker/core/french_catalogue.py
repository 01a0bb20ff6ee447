"""Sets the French catalogue in French typography: ``python -m tracker.core.french_catalogue``.

``make i18n`` runs it after updating the catalogue, so a translation typed with
an ASCII apostrophe or an ordinary space before a colon is corrected once, in
the catalogue, by the same function the ``|typo`` filter applies to French
text built from data. Entries are keyed by (context, id), never by id alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from tracker.core.i18n import french_typography

CATALOGUE = Path(__file__).resolve().parents[1] / "translations/fr/LC_MESSAGES/messages.po"


def typeset(path: Path = CATALOGUE) -> list[tuple[str | None, str]]:
    """Rewrites every French translation in ``path`` that French typography
    changes, and returns the (context, id) of each one changed."""
    with path.open("rb") as fh:
        catalogue = read_po(fh, locale="fr")
    changed: list[tuple[str | None, str]] = []
    for message in catalogue:
        if not message.id:
            continue
        typeset_forms: str | tuple[str, ...]
        if isinstance(message.string, str):
            typeset_forms = french_typography(message.string)
        else:
            typeset_forms = tuple(french_typography(form) for form in message.string or ())
        if typeset_forms != message.string:
            message.string = typeset_forms
            key = message.id if isinstance(message.id, str) else message.id[0]
            changed.append((message.context, key))
    if changed:
        with path.open("wb") as fh:
            write_po(fh, catalogue, width=100, ignore_obsolete=True)
    return changed


if __name__ == "__main__":
    for context, msgid in typeset(Path(sys.argv[1]) if len(sys.argv) > 1 else CATALOGUE):
        print(f"typeset: {context + ' | ' if context else ''}{msgid}")

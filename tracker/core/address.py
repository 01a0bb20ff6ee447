"""How a person is written about: a role or a function agrees with the person.

French writes "Coordinatrice" for a woman and "Coordinateur" for a man; English
writes "Coordinator" for both. Each person says which form they want (their
form of address); nobody is guessed from a first name. Unstated, the labels
stay as they always were. The feminine forms are the same English words in the
"feminine" translation context, so English is unchanged and French adds its
own; a label with no feminine form (a discipline, "Radiologue") simply stays.

Only text *about one person* agrees: a filter or a column heading listing the
roles keeps the generic label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from tracker.core.enums import LabelledEnum, with_labels

E = TypeVar("E", bound=LabelledEnum)

#: The translation context of the feminine forms.
FEMININE_CONTEXT = "feminine"


class FormOfAddress(LabelledEnum):
    """The grammatical form a person's roles and functions take in French."""

    UNSPECIFIED = "unspecified"
    FEMININE = "feminine"
    MASCULINE = "masculine"


with_labels(
    FormOfAddress,
    {
        FormOfAddress.UNSPECIFIED: lazy_pgettext("form of address", "Not stated"),
        FormOfAddress.FEMININE: _l("Feminine (Ms)"),
        FormOfAddress.MASCULINE: _l("Masculine (Mr)"),
    },
)

_FEMININE_LABELS: dict[type, Mapping[Any, Any]] = {}


def with_feminine_labels(enum_cls: type[E], labels: Mapping[E, Any]) -> type[E]:
    """Attach the feminine label of the members that have one (lazy strings in
    the ``feminine`` context)."""
    _FEMININE_LABELS[enum_cls] = labels
    return enum_cls


def form_of(person: Any) -> FormOfAddress:
    """A person's form of address: a user, or a participant frozen as a dict
    (``form_of_address`` by name); unstated for anyone else (a guest)."""
    if person is None:
        return FormOfAddress.UNSPECIFIED
    if isinstance(person, Mapping):
        value = person.get("form_of_address")
        return FormOfAddress.__members__.get(value or "", FormOfAddress.UNSPECIFIED)
    value = getattr(person, "form_of_address", None)
    return value if isinstance(value, FormOfAddress) else FormOfAddress.UNSPECIFIED


def agreed(person: Any, generic: Any, feminine: Any) -> str:
    """``generic``, or ``feminine`` when the person asked for the feminine.

    A string comes back as it is (a template's escaped text stays escaped); a
    lazy one is translated now."""
    chosen = feminine if form_of(person) is FormOfAddress.FEMININE else generic
    return chosen if isinstance(chosen, str) else str(chosen)


def label_for(member: LabelledEnum, person: Any) -> str:
    """The label of a role (or any labelled value) held by ``person``, agreed
    with their form of address."""
    feminine = _FEMININE_LABELS.get(type(member), {}).get(member)
    if feminine is None:
        return member.label
    return agreed(person, member.label, feminine)

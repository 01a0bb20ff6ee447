"""A record's fields, declared once: by the form people fill in.

A form class (or a class of fields that several forms share) is the list of
what people enter for one kind of record. Services take plain data keyed by
those names and copy it with ``assign``, which refuses any other name: a
field added to the form reaches the record, or fails loudly, but is never
dropped in between. The audit trail's labels and the exports read the same
declaration.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import cache
from typing import Any

from sqlalchemy import inspect
from wtforms import HiddenField, SubmitField
from wtforms.fields.core import UnboundField

logger = logging.getLogger(__name__)

#: Fields that steer a form (its version, its buttons) rather than hold data.
CONTROLS = (HiddenField, SubmitField)


class UnknownField(TypeError):
    """A name that is not a field of the record's form, or has no column:
    like an unexpected keyword argument, a mistake in the code, not the user's."""


@cache
def data_fields(form_class: type) -> tuple[str, ...]:
    """The names of a form class's data fields, in the order they are declared
    (as WTForms orders them), inherited ones included; a field set to ``None``
    in a subclass is left out, as WTForms leaves it out of the form."""
    unbound = [
        (field.creation_counter, name)
        for name in dir(form_class)
        if not name.startswith("_")
        and isinstance(field := getattr(form_class, name, None), UnboundField)
        and not issubclass(field.field_class, CONTROLS)
    ]
    return tuple(name for _, name in sorted(unbound))


def assign(record: Any, values: Mapping[str, Any], fields: type) -> None:
    """Copy ``values`` onto ``record``, by name.

    Each name must be a data field of the form class ``fields`` and a column
    of the record; anything else raises ``UnknownField`` before anything is
    written. Names left out of ``values`` leave their column as it is.
    """
    allowed = data_fields(fields)
    columns = inspect(type(record)).column_attrs.keys()
    for name in values:
        if name not in allowed:
            raise UnknownField(f"{name!r} is not a field of {fields.__name__}")
        if name not in columns:
            raise UnknownField(f"{name!r} is not a column of {type(record).__name__}")
    for name, value in values.items():
        setattr(record, name, value)

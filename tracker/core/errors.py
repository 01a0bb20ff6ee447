"""Domain errors: a rule of the product was broken by a request.

Services raise them; views turn them into a message on the page (on the field
concerned when there is one) and change nothing.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A request that the product's rules refuse, with a message for the user."""

    def __init__(self, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        #: Translated (or lazily translated) text for the user.
        self.message = message
        #: The form field the message belongs to, if any.
        self.field = field


class ConflictError(DomainError):
    """Someone else changed the record since it was loaded."""


class Forbidden(DomainError):
    """The acting user may not do this to this object (a per-object permission).

    Services raise it even when called directly; a view answers it with 403.
    """

    def __init__(self, message: Any = None) -> None:
        super().__init__(message if message is not None else _l("Access denied"))

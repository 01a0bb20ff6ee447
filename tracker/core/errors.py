"""Domain errors: a rule of the product was broken by a request.

Services raise them; views turn them into a message on the page (on the field
concerned when there is one) and change nothing.
"""

from __future__ import annotations

from typing import Any


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

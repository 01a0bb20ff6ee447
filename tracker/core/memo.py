"""Per-request memory for queries that several parts of one page ask for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import has_request_context, request

T = TypeVar("T")


def once_per_request(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """``load()`` once per request for ``key`` (every time outside a request).

    The case page asks for a case's decisions, procedures and follow-ups from
    its timeline and from its blocks: they are read from the database once.
    """
    if not has_request_context():
        return load()
    cache = request.environ.setdefault("rcp.once_per_request", {})
    if key not in cache:
        cache[key] = load()
    return cache[key]

"""Per-request memory for queries that several parts of one page ask for, and
results kept across requests under keys that say when they change."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
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


class KeptResults:
    """Results kept in this process for keys that name everything they depend on
    (for outcomes: the latest change in the audit trail, the filters, the day and
    the language), so that a kept result is never stale: new data, a new key.

    The oldest results are dropped beyond ``size``; a lock keeps threads apart.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        result = compute()
        with self._lock:
            self._results[key] = result
            while len(self._results) > self.size:
                self._results.popitem(last=False)
        return result

    def clear(self) -> None:
        with self._lock:
            self._results.clear()

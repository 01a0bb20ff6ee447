"""The main menu.

An item is shown to a user when the access rule of its page lets them in, so
the menu never offers a page that would answer 403 and never needs its own
list of roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.core.permissions import rule_for


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy string, translated when rendered
    order: int


_ITEMS: list[NavItem] = []


def register_nav(endpoint: str, label: Any, order: int) -> None:
    if any(item.endpoint == endpoint for item in _ITEMS):
        return
    _ITEMS.append(NavItem(endpoint, label, order))
    _ITEMS.sort(key=lambda item: item.order)


def nav_for(user: Any) -> list[NavItem]:
    items = []
    for item in _ITEMS:
        rule = rule_for(item.endpoint)
        if rule is not None and not rule.public and rule.allows(user):
            items.append(item)
    return items

"""The main menu.

An item is shown to a user when the access rule of its page lets them in, so
the menu never offers a page that would answer 403 and never needs its own
list of roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.core.permissions import rule_for

#: Where an item sits: the menu bar, the administration menu, the person's own menu.
MAIN, ADMIN, ACCOUNT = "main", "admin", "account"


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: Any  # a lazy string, translated when rendered
    order: int
    group: str = MAIN


_ITEMS: list[NavItem] = []


def register_nav(endpoint: str, label: Any, order: int, group: str = MAIN) -> None:
    if group not in {MAIN, ADMIN, ACCOUNT}:
        raise ValueError(f"unknown menu {group!r}")
    if any(item.endpoint == endpoint for item in _ITEMS):
        return
    _ITEMS.append(NavItem(endpoint, label, order, group))
    _ITEMS.sort(key=lambda item: item.order)


def nav_for(user: Any) -> dict[str, list[NavItem]]:
    """The menu items ``user`` may open, by menu."""
    menus: dict[str, list[NavItem]] = {MAIN: [], ADMIN: [], ACCOUNT: []}
    for item in _ITEMS:
        rule = rule_for(item.endpoint)
        if rule is not None and not rule.public and rule.allows(user):
            menus[item.group].append(item)
    return menus

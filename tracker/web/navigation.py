"""The main menu.

An item is shown to a user when the access rule of its page lets them in, so
the menu never offers a page that would answer 403 and never needs its own
list of roles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tracker.core import signals
from tracker.web.permissions import rule_for

#: Where an item sits: the menu bar, the administration menu, the person's own menu.
MAIN, ADMIN, ACCOUNT = "main", "admin", "account"


@dataclass(frozen=True)
class NavItem:
    """A menu entry, given by a feature on ``signals.menu_items``."""

    endpoint: str
    label: Any  # a lazy string, translated when rendered
    order: int
    group: str = MAIN

    def __post_init__(self) -> None:
        if self.group not in {MAIN, ADMIN, ACCOUNT}:
            raise ValueError(f"unknown menu {self.group!r}")


def nav_for(user: Any) -> dict[str, list[NavItem]]:
    """The menu items ``user`` may open, by menu."""
    items: list[NavItem] = sorted(
        signals.collected(signals.menu_items), key=lambda item: item.order
    )
    menus: dict[str, list[NavItem]] = {MAIN: [], ADMIN: [], ACCOUNT: []}
    for item in items:
        rule = rule_for(item.endpoint)
        if rule is not None and not rule.public and rule.allows(user):
            menus[item.group].append(item)
    return menus

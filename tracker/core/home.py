"""The home page's panels: each role's worklist, contributed by the features."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.core.permissions import Role


@dataclass(frozen=True)
class HomePanel:
    role: Role
    order: int
    template: str
    #: Builds the panel's template context for the current user.
    context: Callable[[Any], dict[str, Any]]


_PANELS: list[HomePanel] = []


def home_panel(role: Role, order: int, template: str) -> Callable[[Any], Any]:
    """Decorate a function ``(user) -> context`` to show a panel to ``role``."""

    def register(context: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
        if not any(panel.template == template and panel.role is role for panel in _PANELS):
            _PANELS.append(HomePanel(role, order, template, context))
            _PANELS.sort(key=lambda panel: panel.order)
        return context

    return register


def panels_for(user: Any) -> list[tuple[HomePanel, dict[str, Any]]]:
    """Each panel once, even for a user holding several roles that share it."""
    shown, result = set(), []
    for panel in _PANELS:
        if panel.role in user.roles and panel.template not in shown:
            shown.add(panel.template)
            result.append((panel, panel.context(user)))
    return result

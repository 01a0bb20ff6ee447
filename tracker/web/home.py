"""The home page's panels: each role's worklist, contributed by the features."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.core import signals
from tracker.web.permissions import Role


@dataclass(frozen=True)
class HomePanel:
    """A panel of the home page, given by a feature on ``signals.home_panels``.
    A panel shared by several roles is given once per role and shown once."""

    role: Role
    order: int
    template: str
    #: Builds the panel's template context for the current user.
    context: Callable[[Any], dict[str, Any]]


def panels_for(user: Any) -> list[tuple[HomePanel, dict[str, Any]]]:
    """Each panel once, even for a user holding several roles that share it."""
    panels: list[HomePanel] = sorted(
        signals.collected(signals.home_panels), key=lambda panel: panel.order
    )
    shown, result = set(), []
    for panel in panels:
        if panel.role in user.roles and panel.template not in shown:
            shown.add(panel.template)
            result.append((panel, panel.context(user)))
    return result

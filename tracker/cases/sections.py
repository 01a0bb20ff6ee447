"""Blocks other features add to the case page (decisions, plans, follow-up...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.cases.models import Referral


@dataclass(frozen=True)
class CaseSection:
    order: int
    template: str
    #: Builds the block's template context for a case (a fixed number of queries).
    context: Callable[[Referral], dict[str, Any]]


_SECTIONS: list[CaseSection] = []


def case_section(order: int, template: str) -> Callable[[Any], Any]:
    def register(context: Callable[[Referral], dict[str, Any]]) -> Any:
        if not any(section.template == template for section in _SECTIONS):
            _SECTIONS.append(CaseSection(order, template, context))
            _SECTIONS.sort(key=lambda section: section.order)
        return context

    return register


def sections_for(referral: Referral) -> list[tuple[CaseSection, dict[str, Any]]]:
    return [(section, section.context(referral)) for section in _SECTIONS]

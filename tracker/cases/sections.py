"""Blocks other features add to the case page (decisions, plans, follow-up...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.cases.models import Referral
from tracker.core import signals


@dataclass(frozen=True)
class CaseSection:
    """A block of the case page, given by a feature on ``signals.case_sections``."""

    order: int
    template: str
    #: Builds the block's template context for a case (a fixed number of queries).
    context: Callable[[Referral], dict[str, Any]]


def sections_for(referral: Referral) -> list[tuple[CaseSection, dict[str, Any]]]:
    sections: list[CaseSection] = sorted(
        signals.collected(signals.case_sections), key=lambda section: section.order
    )
    return [(section, section.context(referral)) for section in sections]

"""Blocks other features add to the case page (decisions, plans, follow-up...).

Each block may also say, for the page's header, where the case stands (facts:
the decision, the verdict, the next follow-up) and what comes next for this
user (actions). They are worked out from the block's own context, so the
header costs no query of its own, and each feature speaks only of its part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from tracker.cases.models import Referral
from tracker.core import signals


@dataclass(frozen=True)
class CaseAction:
    """Something this user may do next for the case, offered in its header."""

    label: str
    url: str
    #: Lower comes first; the first action offered is the one shown as primary.
    rank: int
    #: An action that is the natural next step (not merely possible) may be primary.
    is_next: bool = True


@dataclass(frozen=True)
class CaseFact:
    """Where the case stands, in a few words, for its header."""

    label: str
    value: str
    rank: int
    link: str | None = None
    #: A word for the fact's colour: "info", "success", "warning", "danger" or "".
    tone: str = ""


@dataclass(frozen=True)
class CaseSection:
    """A block of the case page, given by a feature on ``signals.case_sections``."""

    order: int
    #: None for a feature that only speaks in the header.
    template: str | None
    #: Builds the block's template context for a case (a fixed number of queries).
    context: Callable[[Referral], dict[str, Any]]
    #: What the block says in the header, from its context (no query).
    summary: Callable[[Referral, dict[str, Any]], Iterable[CaseAction | CaseFact]] | None = None


@dataclass(frozen=True)
class CaseHeader:
    facts: list[CaseFact]
    #: The natural next step, shown first and as the primary button, if any.
    primary: CaseAction | None
    others: list[CaseAction]


def sections_for(referral: Referral) -> list[tuple[CaseSection, dict[str, Any]]]:
    sections: list[CaseSection] = sorted(
        signals.collected(signals.case_sections), key=lambda section: section.order
    )
    return [(section, section.context(referral)) for section in sections]


def header_for(
    referral: Referral,
    sections: list[tuple[CaseSection, dict[str, Any]]],
    own: Iterable[CaseAction | CaseFact] = (),
) -> CaseHeader:
    """The case's header: facts in order, then its actions, the next step first."""
    said: list[CaseAction | CaseFact] = list(own)
    for section, context in sections:
        if section.summary is not None:
            said.extend(section.summary(referral, context))
    facts = sorted((s for s in said if isinstance(s, CaseFact)), key=lambda f: f.rank)
    actions = sorted((s for s in said if isinstance(s, CaseAction)), key=lambda a: a.rank)
    primary = next((a for a in actions if a.is_next), None)
    return CaseHeader(facts, primary, [a for a in actions if a is not primary])

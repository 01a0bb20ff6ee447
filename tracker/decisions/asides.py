"""Blocks other features show beside a procedure plan (meeting mode, the plan's
page): the unit's results with the technique chosen..."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker.cases.models import Referral
from tracker.catalogue.models import Technique
from tracker.core import signals


@dataclass(frozen=True)
class PlanAside:
    """A block beside the plan, given by a feature on ``signals.plan_asides``."""

    order: int
    template: str
    #: Builds the block's context for a case and the technique chosen (None:
    #: none yet); one or two queries, whatever the data.
    context: Callable[[Referral, Technique | None], dict[str, Any]]


def asides_for(
    referral: Referral, technique: Technique | None
) -> list[tuple[PlanAside, dict[str, Any]]]:
    asides: list[PlanAside] = sorted(
        signals.collected(signals.plan_asides), key=lambda aside: aside.order
    )
    return [(aside, aside.context(referral, technique)) for aside in asides]

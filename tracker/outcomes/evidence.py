"""The unit's own evidence at the moment of decision.

Beside the plan of a case, for the technique chosen and the case's indication:
how many patients the unit treated, the share with at least 50% and 30% less
pain at month 3 (Wilson intervals), the median relief duration (Kaplan-Meier,
with its interval), the share of procedures with a CIRSE grade 3 or worse
adverse event, and the published figure where the domain reference has one.

The figures come from the outcomes engine (``queries.outcomes``, the
definitions of the outcomes page) and are kept (``models.EvidenceFigures``),
refreshed by the nightly ``evidence`` job: meeting mode reads one row per
case, whatever the size of the unit's history.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, or_, select

from tracker.cases.models import Referral
from tracker.catalogue.models import Indication, Technique
from tracker.core.time import to_local
from tracker.decisions.models import AdverseEvent, Procedure
from tracker.extensions import db
from tracker.outcomes.analysis import Label, TechniqueOutcomes
from tracker.outcomes.models import EvidenceFigures
from tracker.outcomes.queries import outcomes_by_indication
from tracker.outcomes.references import PublishedFigure, figures_for
from tracker.outcomes.settings import EVIDENCE_MINIMUM
from tracker.outcomes.stats import Proportion, wilson

logger = logging.getLogger(__name__)

#: The time point the figures report: month 3 (``followups.rules.describe_day``).
MONTH_3: Label = ("month", 3)
#: Adverse events that need a fresh discussion (CIRSE 3 or worse).
SEVERE_GRADE = 3


# --- kept: computed nightly ----------------------------------------------------------


def _row(technique: TechniqueOutcomes, indication_id: int | None, severe: int) -> dict[str, Any]:
    month3 = technique.timepoints.get(MONTH_3)
    relief = technique.relief
    return {
        "technique_id": technique.technique_id,
        "indication_id": indication_id,
        "treated": technique.treated,
        "patients": technique.patient_count or 0,
        "month3_compared": month3.compared if month3 else 0,
        "month3_moderate": month3.moderate_count if month3 else 0,
        "month3_substantial": month3.substantial_count if month3 else 0,
        "relief_subjects": relief.subjects if relief else 0,
        "relief_events": relief.events if relief else 0,
        "relief_median": relief.median if relief else None,
        "relief_median_low": relief.median_low if relief else None,
        "relief_median_high": relief.median_high if relief else None,
        "severe_events": severe,
    }


def _severe_events() -> dict[tuple[int, int | None], int]:
    """Procedures with a CIRSE 3+ event, by technique and indication, and by
    technique for every indication: one query."""
    rows = db.session.execute(
        select(
            Procedure.technique_id,
            Referral.indication_id,
            func.count(func.distinct(AdverseEvent.procedure_id)),
        )
        .select_from(AdverseEvent)
        .join(Procedure, Procedure.id == AdverseEvent.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(AdverseEvent.cirse_grade >= SEVERE_GRADE)
        .group_by(Procedure.technique_id, Referral.indication_id)
    )
    found: dict[tuple[int, int | None], int] = defaultdict(int)
    for technique_id, indication_id, count in rows:
        # A procedure belongs to one case, hence to one indication.
        found[technique_id, indication_id] += count
        found[technique_id, None] += count
    return found


def refresh(now: datetime) -> dict[str, int]:
    """Compute the figures of every technique, per indication and for all of
    them, and keep them in place of the previous ones (one transaction; a
    fixed number of queries, whatever the catalogue)."""
    severe = _severe_events()
    found = outcomes_by_indication(to_local(now).date(), MONTH_3)
    rows = [
        {**_row(technique, indication_id, severe[technique_id, indication_id]), "computed_at": now}
        for (technique_id, indication_id), technique in found.items()
        if technique.treated
    ]
    db.session.execute(delete(EvidenceFigures))
    if rows:
        # One executemany (the ORM would split the rows by the columns left empty).
        db.session.execute(insert(cast(Table, EvidenceFigures.__table__)), rows)
    logger.info("Evidence figures kept: %d rows", len(rows))
    return {"figures": len(rows)}


# --- read: one query per case shown --------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """One kept row, read as the page says it."""

    row: EvidenceFigures
    minimum: int

    @property
    def patients(self) -> int:
        return self.row.patients

    @property
    def enough(self) -> bool:
        """Fewer patients than the site's minimum: too few to say anything."""
        return self.row.patients >= self.minimum

    @property
    def substantial(self) -> Proportion | None:
        return wilson(self.row.month3_substantial, self.row.month3_compared)

    @property
    def moderate(self) -> Proportion | None:
        return wilson(self.row.month3_moderate, self.row.month3_compared)

    @property
    def severe(self) -> Proportion | None:
        return wilson(self.row.severe_events, self.row.treated)


@dataclass(frozen=True)
class Evidence:
    technique: Technique
    indication: Indication | None
    #: This indication's patients, then every indication's (None: none treated).
    for_indication: Figures | None
    overall: Figures | None
    published: list[PublishedFigure]
    minimum: int

    @property
    def computed_at(self) -> datetime | None:
        kept = self.overall or self.for_indication
        return kept.row.computed_at if kept else None


def evidence(technique: Technique, indication: Indication | None) -> Evidence:
    """The kept figures of ``technique`` for ``indication`` and overall: one query."""
    minimum = int(EVIDENCE_MINIMUM.value)
    wanted: list[ColumnElement[bool]] = [EvidenceFigures.indication_id.is_(None)]
    if indication is not None:
        wanted.append(EvidenceFigures.indication_id == indication.id)
    found: dict[int | None, Figures] = {}
    # Newest first: a refresh running beside another leaves the newest row read.
    for row in db.session.scalars(
        select(EvidenceFigures)
        .where(EvidenceFigures.technique_id == technique.id, or_(*wanted))
        .order_by(EvidenceFigures.computed_at.desc(), EvidenceFigures.id.desc())
    ):
        found.setdefault(row.indication_id, Figures(row, minimum))
    return Evidence(
        technique=technique,
        indication=indication,
        for_indication=found.get(indication.id) if indication is not None else None,
        overall=found.get(None),
        published=figures_for(technique.code),
        minimum=minimum,
    )


def plan_aside(referral: Referral, technique: Technique | None) -> dict[str, Any]:
    """The context of ``outcomes/_evidence.html`` beside a plan."""
    if technique is None:
        return {"evidence": None}
    return {"evidence": evidence(technique, referral.indication)}

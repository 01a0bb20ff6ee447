"""The unit's figures kept for the moment of decision.

Meeting mode shows, beside the plan, what the unit's own patients gained from
the technique chosen. Computing that from every reading on each page would
cost the outcomes engine's queries per case shown; the figures are computed
nightly (``outcomes.tasks``) from the same engine and kept here, one row per
technique and indication, and one per technique for every indication.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import Model


class EvidenceFigures(Model):
    """Counts of one technique's outcomes, for one indication or (indication
    NULL) for all of them. Derived data, rebuilt whole by each refresh: not
    audited (the readings it is computed from are)."""

    __tablename__ = "evidence_figures"
    __table_args__ = (Index("ix_evidence_figures_technique", "technique_id", "indication_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    technique_id: Mapped[int] = mapped_column(ForeignKey("techniques.id", ondelete="CASCADE"))
    indication_id: Mapped[int | None] = mapped_column(
        ForeignKey("indications.id", ondelete="CASCADE")
    )
    #: Procedures performed, and the distinct patients who had them.
    treated: Mapped[int] = mapped_column(default=0)
    patients: Mapped[int] = mapped_column(default=0)
    #: Month 3: readings done that compare with a baseline, and those with at
    #: least 30% and at least 50% less pain (``outcomes.analysis.TimePoint``).
    month3_compared: Mapped[int] = mapped_column(default=0)
    month3_moderate: Mapped[int] = mapped_column(default=0)
    month3_substantial: Mapped[int] = mapped_column(default=0)
    #: Relief duration (Kaplan-Meier, months) of the procedures that responded.
    relief_subjects: Mapped[int] = mapped_column(default=0)
    relief_events: Mapped[int] = mapped_column(default=0)
    relief_median: Mapped[float | None] = mapped_column(Float)
    relief_median_low: Mapped[float | None] = mapped_column(Float)
    relief_median_high: Mapped[float | None] = mapped_column(Float)
    #: Procedures whose worst adverse event was CIRSE grade 3 or worse.
    severe_events: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime]

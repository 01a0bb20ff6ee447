"""What the meeting sees of a patient's earlier episodes: the returning
patient's pack (the episode the case presents again: its decision, its
procedure, the pain after it, the time to recurrence and the retreatment
verdict) and a small trajectory of each earlier procedure.

Built from what meeting mode loads anyway (the patient's decisions and
procedures, each with its case) and one query for every reading of the
patient: the same queries for a new patient as for a long history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from flask_babel import format_decimal
from markupsafe import Markup

from tracker.cases.models import Referral
from tracker.core.audit_trail import labels_of
from tracker.decisions.forms import ProcedureFields
from tracker.decisions.models import Decision, Procedure, ProcedurePlan
from tracker.decisions.rules import TECHNIQUE_PARAMETERS
from tracker.followups.chart import sparkline_svg
from tracker.followups.explain import explain
from tracker.followups.rules import (
    DAYS_PER,
    Reading,
    Verdict,
    in_order,
    relief_duration,
    retreatment_verdict,
)
from tracker.followups.services import session_of

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Relief:
    """``rules.relief_duration`` of a procedure: how long it relieved the pain."""

    days: int
    #: True when the pain came back (the time to recurrence); False when the
    #: relief held up to the last assessment.
    ended: bool

    @property
    def months(self) -> int:
        return round(self.days / DAYS_PER["m"])


@dataclass(frozen=True)
class ReturningPack:
    #: The earlier episode the case presents again.
    previous: Referral
    #: Its latest validated decision.
    decision: Decision | None
    #: Its latest procedure, and how that procedure was planned.
    procedure: Procedure | None
    plan: ProcedurePlan | None
    #: (name, value) of each parameter of the technique recorded with the procedure.
    parameters: list[tuple[str, str]]
    #: The pain after the procedure, small (inline SVG).
    trajectory: Markup | None
    relief: Relief | None
    #: The retreatment verdict of the earlier episode, as its case page gives it.
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)


def procedure_parameters(procedure: Procedure) -> list[tuple[str, str]]:
    """The technique's parameters recorded with a procedure, (name, value), named
    as its form names them less the technique the form puts first: beside the
    technique, "Cryoneurolysis: freeze-thaw cycles" reads "freeze-thaw cycles"."""
    labels = labels_of(ProcedureFields)
    return [
        (
            str(labels[name]).rpartition(":")[2].strip(),
            value if isinstance(value, str) else format_decimal(value),
        )
        for name in TECHNIQUE_PARAMETERS
        if (value := getattr(procedure, name)) is not None and value != ""
    ]


def days_after(performed_on: date, readings: Iterable[Reading]) -> list[tuple[int, int, bool]]:
    """(days since the procedure, NRS, the pain is back) of each reading, in order."""
    return [
        ((reading.on - performed_on).days, reading.nrs, reading.pain_is_back)
        for reading in in_order(readings)
    ]


def trajectory_of(procedure: Procedure, readings: Iterable[Reading]) -> Markup:
    """A procedure's small trajectory, from its case's baseline (its case loaded)."""
    points = days_after(procedure.performed_on, readings)
    # Written by the chart, which escapes every text it holds.
    return Markup(sparkline_svg(procedure.referral.nrs_average, points))  # noqa: S704  # nosec B704


def trajectories(
    procedures: Sequence[Procedure], readings: Mapping[int, Sequence[Reading]]
) -> dict[int, Markup]:
    """The small trajectory of each procedure, by procedure id."""
    return {p.id: trajectory_of(p, readings.get(p.id, ())) for p in procedures}


def _episodes(start: Referral, known: Mapping[int, Referral]) -> set[int]:
    """``start`` and the earlier episodes it presents again, among ``known``."""
    chain: set[int] = set()
    current: Referral | None = start
    while current is not None and current.id not in chain:
        chain.add(current.id)
        earlier = current.previous_referral_id
        current = known.get(earlier) if earlier is not None else None
    return chain


def returning_pack(
    referral: Referral,
    decisions: Sequence[Decision],
    procedures: Sequence[Procedure],
    readings: Mapping[int, Sequence[Reading]],
    today: date,
    trajectory: Mapping[int, Markup] | None = None,
) -> ReturningPack | None:
    """The pack of a case presented again, or None for a first presentation.

    ``decisions`` and ``procedures`` are the patient's (each with its case;
    decisions newest first, with their plans), ``readings`` the patient's by
    procedure. The verdict is the one the earlier case's page gives:
    ``retreatment_verdict`` over that case's episodes, as of ``today``.
    """
    if referral.previous_referral_id is None:
        return None
    known = {d.referral.id: d.referral for d in decisions}
    known |= {p.referral.id: p.referral for p in procedures}
    # Every treated case was decided upon: it is among the patient's decisions.
    previous = known.get(referral.previous_referral_id) or referral.previous
    if previous is None:
        return None
    chain = _episodes(previous, known)
    episode = sorted(
        (p for p in procedures if p.referral_id in chain), key=lambda p: (p.performed_on, p.id)
    )
    sessions = [session_of(p, p.referral.nrs_average, readings.get(p.id, ())) for p in episode]
    verdict = retreatment_verdict(sessions, today)
    last = next(
        (
            index
            for index in reversed(range(len(episode)))
            if episode[index].referral_id == previous.id
        ),
        None,
    )
    procedure = episode[last] if last is not None else None
    relief = relief_duration(sessions[last]) if last is not None else None
    plans = {d.plan.id: d.plan for d in decisions if d.plan is not None}
    drawn = trajectory or {}
    return ReturningPack(
        previous=previous,
        decision=next(
            (d for d in decisions if d.referral_id == previous.id and d.is_validated), None
        ),
        procedure=procedure,
        plan=plans.get(procedure.plan_id) if procedure and procedure.plan_id else None,
        parameters=procedure_parameters(procedure) if procedure else [],
        trajectory=(
            drawn.get(procedure.id) or trajectory_of(procedure, readings.get(procedure.id, ()))
            if procedure
            else None
        ),
        relief=Relief(*relief) if relief else None,
        verdict=verdict,
        reasons=[explain(reason.code, reason.values) for reason in verdict.reasons],
    )

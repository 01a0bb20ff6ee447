"""From the rows of treated cases to the figures of the outcomes page, in one
pass over plain data (no database).

Definitions, as the page states them:

- a case is counted at a time point of its follow-up schedule once that time
  point is due; it is complete there when the scheduled assessment was done;
  time points are grouped by their label ("month 3" holds day 90 and day 91);
- responders at a time point: an NRS reduction from the baseline of the
  referral of at least 30% (moderate) or at least 50% (substantial), among the
  assessments done at that time point that count (IMMPACT thresholds; a
  reading before the technique's first counted day, or saying the pain is
  back, is no response: ``tracker.followups.rules.reading_category``);
- relief duration: from the procedure to the recurrence as the retreatment rule
  of the technique defines it (``tracker.followups.rules.relief_duration``),
  censored at the last assessment without recurrence; only procedures that
  brought at least a partial response count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from tracker.decisions.models import NotCarriedOut
from tracker.decisions.rules import CARRIED_OUT
from tracker.followups.rules import (
    AT_LEAST_MODERATE,
    FollowUpStatus,
    Response,
    Session,
    counts_as_missed,
    describe_day,
    reading_category,
    relief_duration,
)
from tracker.outcomes.stats import KaplanMeier, Proportion, kaplan_meier, percentile, wilson

#: Months, for the relief curves.
DAYS_PER_MONTH = 30.44


@dataclass(frozen=True)
class Treated:
    """One procedure performed, with the assessments that followed it."""

    procedure_id: int
    patient_id: int
    technique_id: int
    session: Session


@dataclass(frozen=True)
class Scheduled:
    """One scheduled follow-up of a procedure, and its assessment if done."""

    procedure_id: int
    offset_days: int
    due_on: date
    status: str  # FollowUpStatus name
    nrs: int | None = None
    pain_is_back: bool = False
    assessed_on: date | None = None
    window_end_on: date | None = None


#: A time point as its label says it: ("week", 1), ("month", 3)...
Label = tuple[str, int]


@dataclass
class TimePoint:
    #: The smallest day offset among the follow-ups counted here.
    days: int
    due: int = 0
    done: int = 0
    missed: int = 0
    #: Done, with a baseline to compare with.
    compared: int = 0
    moderate_count: int = 0
    substantial_count: int = 0
    nrs_total: int = 0
    nrs_count: int = 0

    @property
    def pending(self) -> int:
        return self.due - self.done - self.missed

    @property
    def completeness(self) -> Proportion | None:
        return wilson(self.done, self.due)

    @property
    def moderate(self) -> Proportion | None:
        return wilson(self.moderate_count, self.compared)

    @property
    def substantial(self) -> Proportion | None:
        return wilson(self.substantial_count, self.compared)

    @property
    def mean_nrs(self) -> float | None:
        return self.nrs_total / self.nrs_count if self.nrs_count else None


@dataclass
class TechniqueOutcomes:
    technique_id: int
    treated: int = 0
    patients: set[int] = field(default_factory=set)
    #: When computed by the database: the number of patients (no set of ids).
    patient_count: int | None = None
    #: By label: schedules that differ by a day (90 and 91) share "month 3".
    timepoints: dict[Label, TimePoint] = field(default_factory=dict)
    baseline_total: int = 0
    baseline_count: int = 0
    #: Relief durations in months, and whether each ended with a recurrence.
    relief_months: list[float] = field(default_factory=list)
    relief_ended: list[bool] = field(default_factory=list)
    #: Procedures assessed that never reached a partial response.
    no_response: int = 0

    @property
    def mean_baseline(self) -> float | None:
        return self.baseline_total / self.baseline_count if self.baseline_count else None

    @cached_property
    def relief(self) -> KaplanMeier | None:
        if not self.relief_months:
            return None
        return kaplan_meier(self.relief_months, self.relief_ended)

    def ordered_timepoints(self) -> list[TimePoint]:
        return sorted(self.timepoints.values(), key=lambda point: point.days)


@dataclass
class Outcomes:
    by_technique: dict[int, TechniqueOutcomes]
    treated: int
    patients: int
    #: Every technique's time points together, for the completeness table.
    timepoints: dict[Label, TimePoint]

    def ordered_timepoints(self) -> list[TimePoint]:
        return sorted(self.timepoints.values(), key=lambda point: point.days)


#: How a due time point was done, for completeness by channel: answered online
#: after an e-mail or a text message (``ContactChannel`` names), or by the team.
BY_EMAIL, BY_SMS, BY_TEAM = "EMAIL", "SMS", "TEAM"


@dataclass
class InvitationFigures:
    """Invitations to answer online, and how the due time points were done.

    - response rate: invitations answered among those sent (a first message
      the gateway refused was not sent), by channel;
    - completeness by channel: among the scheduled time points counted in the
      completeness table (due, or done early), those answered online after an
      e-mail, after a text message, and those done by the team (phone call,
      visit, message): the three add up to the completeness.
    """

    #: Invitations sent, and answered, by channel name.
    sent: dict[str, int] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    #: Scheduled time points due, and those done, by ``BY_*``.
    due: int = 0
    done_by: dict[str, int] = field(default_factory=dict)

    @property
    def any_sent(self) -> bool:
        return any(self.sent.values())

    def response(self, channel: str | None = None) -> Proportion | None:
        """Answered among sent, on one channel or all."""
        if channel is None:
            return wilson(sum(self.answered.values()), sum(self.sent.values()))
        return wilson(self.answered.get(channel, 0), self.sent.get(channel, 0))

    def completeness(self, how: str | None = None) -> Proportion | None:
        """Due time points done one way (``BY_*``), or in any way."""
        done = sum(self.done_by.values()) if how is None else self.done_by.get(how, 0)
        return wilson(done, self.due)


def timepoint(points: dict[Label, TimePoint], days: int) -> TimePoint:
    """The row of ``points`` where a follow-up due ``days`` after its procedure
    counts: one per label ("month 3", by ``followups.rules.describe_day``, as the
    page writes it), so techniques whose schedules say 90 and 91 days, or a
    schedule changed by a day, give one row, placed at its smallest offset."""
    label = describe_day(days)
    point = points.get(label)
    if point is None:
        point = points[label] = TimePoint(days)
    point.days = min(point.days, days)
    return point


def _count(point: TimePoint, row: Scheduled, session: Session, today: date) -> None:
    if row.due_on > today and row.status != "DONE":
        return
    point.due += 1
    if counts_as_missed(FollowUpStatus[row.status], row.window_end_on, today):
        point.missed += 1
    if row.status != "DONE" or row.nrs is None:
        return
    point.done += 1
    point.nrs_total += row.nrs
    point.nrs_count += 1
    category = None
    if row.assessed_on is not None:
        category = reading_category(
            session.baseline,
            row.nrs,
            row.pain_is_back,
            session.performed_on,
            row.assessed_on,
            session.settings.counts_from_day,
        )
    if category is not None:
        point.compared += 1
        point.moderate_count += category in AT_LEAST_MODERATE
        point.substantial_count += category is Response.SUBSTANTIAL


def analyse(treated: Iterable[Treated], scheduled: Iterable[Scheduled], today: date) -> Outcomes:
    """Every figure of the outcomes page but the adverse events, in one pass: the
    definitions that ``queries.outcomes`` computes in the database (tested equal)."""
    by_technique: dict[int, TechniqueOutcomes] = {}
    procedures: dict[int, Treated] = {}
    patients: set[int] = set()
    for row in treated:
        procedures[row.procedure_id] = row
        patients.add(row.patient_id)
        outcome = by_technique.setdefault(row.technique_id, TechniqueOutcomes(row.technique_id))
        outcome.treated += 1
        outcome.patients.add(row.patient_id)
        if row.session.baseline:
            outcome.baseline_total += row.session.baseline
            outcome.baseline_count += 1
        relief = relief_duration(row.session)
        if relief is not None:
            days, ended = relief
            outcome.relief_months.append(days / DAYS_PER_MONTH)
            outcome.relief_ended.append(ended)
        elif row.session.failed:
            outcome.no_response += 1
    overall: dict[Label, TimePoint] = {}
    for due in scheduled:
        procedure = procedures.get(due.procedure_id)
        if procedure is None:
            continue
        outcome = by_technique[procedure.technique_id]
        _count(timepoint(outcome.timepoints, due.offset_days), due, procedure.session, today)
        _count(timepoint(overall, due.offset_days), due, procedure.session, today)
    return Outcomes(by_technique, len(procedures), len(patients), overall)


@dataclass(frozen=True)
class Activity:
    """The RCP's activity over a period, from ``ActivityRows``."""

    meetings: int
    discussed: int
    per_meeting_median: float | None
    per_meeting_max: int | None
    with_quorum: Proportion | None
    to_discussion: tuple[float | None, float | None]
    to_procedure: tuple[float | None, float | None]
    proposed: int
    as_planned: int
    refused: int
    deviations: list[Any]
    #: Proposals of a procedure old enough to judge, by what became of them
    #: (``rules.Implementation``), and the reasons of those not carried out.
    implemented: dict[Any, int] = field(default_factory=dict)
    not_carried_out: list[tuple[Any, int]] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return sum(self.implemented.values())

    @property
    def implementation_rate(self) -> Proportion | None:
        """Proposals carried out (as planned or not), among those old enough."""
        carried = sum(self.implemented.get(status, 0) for status in CARRIED_OUT)
        return wilson(carried, self.judged)

    @property
    def followed(self) -> Proportion | None:
        """Decisions carried out as planned, among those carried out."""
        return wilson(self.as_planned, self.as_planned + len(self.deviations))

    @property
    def not_yet(self) -> int:
        return max(0, self.proposed - self.as_planned - len(self.deviations) - self.refused)


def _most_first(item: tuple[NotCarriedOut, int]) -> tuple[int, int]:
    """Reasons by count, the most frequent first; ties in the order of the codes."""
    return (-item[1], list(NotCarriedOut).index(item[0]))


def summarise_activity(rows: Any) -> Activity:
    counts = [rows.discussed.get(meeting_id, 0) for meeting_id, _day in rows.meetings]
    met = sum(meeting_id in rows.quorate for meeting_id, _day in rows.meetings)
    return Activity(
        meetings=len(rows.meetings),
        discussed=sum(counts),
        per_meeting_median=percentile(counts, 50),
        per_meeting_max=max(counts) if counts else None,
        with_quorum=wilson(met, len(rows.meetings)),
        to_discussion=(percentile(rows.to_discussion, 50), percentile(rows.to_discussion, 90)),
        to_procedure=(percentile(rows.to_procedure, 50), percentile(rows.to_procedure, 90)),
        proposed=rows.proposed,
        as_planned=rows.as_planned,
        refused=rows.refused,
        deviations=rows.deviated,
        implemented=dict(rows.implemented),
        not_carried_out=sorted(
            rows.not_carried_out.items(),
            key=lambda item: (-item[1], list(NotCarriedOut).index(item[0])),
        ),
    )

"""What the outcomes page reads: a fixed number of queries whatever the number
of cases, each returning plain rows (no objects, no lazy loads)."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Select, and_, case, exists, func, or_, select, true

from tracker.cases.models import Referral
from tracker.catalogue.models import Technique
from tracker.core.time import to_local
from tracker.decisions.models import (
    AdverseEvent,
    Decision,
    DecisionStatus,
    NotCarriedOut,
    Outcome,
    PatientAnswer,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.decisions.queries import plan_implementation
from tracker.decisions.rules import Implementation, pending_too_long
from tracker.extensions import db
from tracker.followups.models import (
    Assessment,
    AssessmentMode,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.rules import (
    AT_LEAST_MODERATE,
    Reading,
    Response,
    Session,
    counts_as_missed_sql,
    counts_sql,
    describe_day,
    in_order,
    reading_category_sql,
    relief_duration_sql,
)
from tracker.followups.services import rule_settings
from tracker.meetings.models import AgendaItem, Attendance, ItemState, Meeting, MeetingStatus
from tracker.meetings.rules import quorum_met_sql
from tracker.outcomes.analysis import (
    BY_TEAM,
    DAYS_PER_MONTH,
    InvitationFigures,
    Label,
    Outcomes,
    Scheduled,
    TechniqueOutcomes,
    TimePoint,
    Treated,
    timepoint,
)
from tracker.selfreport.models import Invitation, InvitationStatus

logger = logging.getLogger(__name__)

#: The columns of a query that a filter passes through unchanged.
Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class OutcomeFilters:
    technique_id: int | None = None
    indication_id: int | None = None
    #: Procedure dates (outcomes) or meeting dates (activity), both included.
    since: date | None = None
    until: date | None = None
    operator_id: int | None = None


def procedure_scope(filters: OutcomeFilters) -> Select[int]:
    """The ids of the procedures the filters keep, as a subquery."""
    query = select(Procedure.id).join(Referral, Referral.id == Procedure.referral_id)
    if filters.technique_id is not None:
        query = query.where(Procedure.technique_id == filters.technique_id)
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    if filters.since is not None:
        query = query.where(Procedure.performed_on >= filters.since)
    if filters.until is not None:
        query = query.where(Procedure.performed_on <= filters.until)
    if filters.operator_id is not None:
        query = query.where(
            exists().where(
                procedure_operators.c.procedure_id == Procedure.id,
                procedure_operators.c.user_id == filters.operator_id,
            )
        )
    return query


def techniques() -> dict[int, Technique]:
    return {technique.id: technique for technique in db.session.scalars(select(Technique))}


def treated_and_scheduled(
    filters: OutcomeFilters, catalogue: dict[int, Technique]
) -> tuple[list[Treated], list[Scheduled]]:
    """The procedures kept by the filters with their assessments, and their
    scheduled follow-ups: three queries, every row. With ``analysis.analyse`` this
    is the definition, row by row, that ``outcomes`` (aggregated by the database,
    which the page uses) is tested against."""
    scope = procedure_scope(filters)
    readings: dict[int, list[Reading]] = defaultdict(list)
    for procedure_id, on, nrs, back, recorded_at, seq in db.session.execute(
        select(
            Assessment.procedure_id,
            Assessment.assessed_on,
            Assessment.nrs_average,
            Assessment.pain_is_back,
            Assessment.created_at,
            Assessment.id,
        ).where(Assessment.procedure_id.in_(scope))
    ):
        readings[procedure_id].append(Reading(on, nrs, back, recorded_at, seq))
    settings = {key: rule_settings(technique) for key, technique in catalogue.items()}
    treated = [
        Treated(
            procedure_id,
            patient_id,
            technique_id,
            Session(
                performed_on=performed_on,
                baseline=baseline,
                readings=tuple(in_order(readings[procedure_id])),
                settings=settings[technique_id],
            ),
        )
        for procedure_id, patient_id, technique_id, performed_on, baseline in db.session.execute(
            select(
                Procedure.id,
                Referral.patient_id,
                Procedure.technique_id,
                Procedure.performed_on,
                Referral.nrs_average,
            )
            .join(Referral, Referral.id == Procedure.referral_id)
            .where(Procedure.id.in_(scope))
        )
    ]
    scheduled = [
        Scheduled(procedure_id, offset, due_on, status.name, nrs, back, on, closes)
        for procedure_id, offset, due_on, status, nrs, back, on, closes in db.session.execute(
            select(
                FollowUp.procedure_id,
                FollowUp.offset_days,
                FollowUp.due_on,
                FollowUp.status,
                Assessment.nrs_average,
                Assessment.pain_is_back,
                Assessment.assessed_on,
                FollowUp.window_end_on,
            )
            .outerjoin(Assessment, Assessment.followup_id == FollowUp.id)
            .where(FollowUp.kind == FollowUpKind.SCHEDULED, FollowUp.procedure_id.in_(scope))
        )
    ]
    return treated, scheduled


def adverse_events_by_grade(filters: OutcomeFilters) -> dict[int, int]:
    """How many procedures had an adverse event, by their worst CIRSE grade."""
    worst = (
        select(func.max(AdverseEvent.cirse_grade).label("grade"))
        .where(AdverseEvent.procedure_id.in_(procedure_scope(filters)))
        .group_by(AdverseEvent.procedure_id)
        .subquery()
    )
    rows = db.session.execute(select(worst.c.grade, func.count()).group_by(worst.c.grade))
    return dict(rows.all())


# --- the RCP's activity -----------------------------------------------------------------


@dataclass(frozen=True)
class Deviation:
    referral_id: int
    case_number: str
    performed_on: date
    planned: str
    used: str
    reason: str | None


@dataclass
class ActivityRows:
    #: Held meetings in the period: (id, local date).
    meetings: list[tuple[int, date]]
    discussed: dict[int, int]
    #: The held meetings whose attendance made the quorum.
    quorate: set[int]
    #: Days from referral to the meeting that decided, one per decision.
    to_discussion: list[int]
    #: Days from that meeting to the procedure, one per decision followed.
    to_procedure: list[int]
    proposed: int
    as_planned: int
    deviated: list[Deviation]
    refused: int
    #: Proposals of a procedure old enough to judge, by what became of them.
    implemented: Counter[Implementation] = field(default_factory=Counter)
    #: Of those not carried out, why.
    not_carried_out: Counter[NotCarriedOut] = field(default_factory=Counter)


def _meeting_period(query: Select[*Columns], filters: OutcomeFilters) -> Select[*Columns]:
    from tracker.core.time import site_timezone

    zone = site_timezone()
    if filters.since is not None:
        start = _local_midnight(filters.since, zone)
        query = query.where(Meeting.starts_at >= start)
    if filters.until is not None:
        end = _local_midnight(date.fromordinal(filters.until.toordinal() + 1), zone)
        query = query.where(Meeting.starts_at < end)
    return query


def _local_midnight(day: date, zone: Any) -> Any:
    from datetime import datetime, time

    return datetime.combine(day, time(0), tzinfo=zone)


def _case_filters(query: Select[*Columns], filters: OutcomeFilters) -> Select[*Columns]:
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    return query


def _meeting_days(connection: Any) -> dict[int, date]:
    """Every meeting's day on the site's calendar (meetings are few: one
    conversion each, not one per decision)."""
    return {
        meeting_id: to_local(starts_at).date()
        for meeting_id, starts_at in connection.execute(select(Meeting.id, Meeting.starts_at))
    }


def activity_rows(
    filters: OutcomeFilters,
    catalogue: dict[int, Technique],
    quorum_minimum: int,
    *,
    today: date | None = None,
    pending_days: int = 0,
) -> ActivityRows:
    """The RCP's activity over held meetings in the period: six queries.

    The follow-through counts the proposals of a procedure validated at least
    ``pending_days`` before ``today`` (all of them without ``today``)."""
    meetings = [
        (meeting_id, to_local(starts_at).date())
        for meeting_id, starts_at in db.session.execute(
            _meeting_period(
                select(Meeting.id, Meeting.starts_at).where(Meeting.status == MeetingStatus.HELD),
                filters,
            ).order_by(Meeting.starts_at)
        )
    ]
    held = select(Meeting.id).where(Meeting.status == MeetingStatus.HELD)
    held = _meeting_period(held, filters)
    discussed = dict(
        db.session.execute(
            _case_filters(
                select(AgendaItem.meeting_id, func.count())
                .join(Referral, Referral.id == AgendaItem.referral_id)
                .where(AgendaItem.state == ItemState.DISCUSSED, AgendaItem.meeting_id.in_(held)),
                filters,
            ).group_by(AgendaItem.meeting_id)
        ).all()
    )
    quorate = set(
        db.session.scalars(
            select(Attendance.meeting_id)
            .where(Attendance.meeting_id.in_(held))
            .group_by(Attendance.meeting_id)
            .having(quorum_met_sql(Attendance.specialty, quorum_minimum))
        )
    )

    decided = _case_filters(
        _meeting_period(
            select(
                Referral.referral_on,
                Decision.meeting_id,
                Decision.outcome,
                Decision.patient_answer,
                Decision.validated_at,
                plan_implementation(),
                ProcedurePlan.not_carried_out_reason,
            )
            .select_from(Decision)
            .join(Referral, Referral.id == Decision.referral_id)
            .join(Meeting, Meeting.id == Decision.meeting_id)
            .outerjoin(ProcedurePlan, ProcedurePlan.decision_id == Decision.id)
            .where(Decision.status == DecisionStatus.VALIDATED),
            filters,
        ),
        filters,
    )
    if filters.technique_id is not None:
        decided = decided.where(ProcedurePlan.technique_id == filters.technique_id)
    # Plain rows from the cursor: one per decision, the meeting's day looked up.
    connection = db.session.connection()
    day_of = _meeting_days(connection)
    to_discussion, proposed, refused = [], 0, 0
    implemented: Counter[Implementation] = Counter()
    not_done: Counter[NotCarriedOut] = Counter()
    for row in connection.execute(decided):
        referral_on, meeting_id, outcome, answer, validated_at, status, why_not = row
        if referral_on is not None:
            to_discussion.append((day_of[meeting_id] - referral_on).days)
        if outcome is Outcome.PROCEDURE_PROPOSED:
            proposed += 1
            refused += answer is PatientAnswer.REFUSES
            if today is None or pending_too_long(
                to_local(validated_at).date(), today, pending_days
            ):
                implemented[status] += 1
                if status is Implementation.NOT_CARRIED_OUT:
                    not_done[why_not] += 1

    performed = _case_filters(
        _meeting_period(
            select(
                Decision.id,
                Referral.id,
                Referral.case_number,
                Decision.meeting_id,
                Procedure.performed_on,
                Procedure.technique_id,
                ProcedurePlan.technique_id,
                Procedure.deviation_reason,
            )
            .select_from(Procedure)
            .join(ProcedurePlan, ProcedurePlan.id == Procedure.plan_id)
            .join(Decision, Decision.id == ProcedurePlan.decision_id)
            .join(Meeting, Meeting.id == Decision.meeting_id)
            .join(Referral, Referral.id == Procedure.referral_id)
            .where(
                Decision.status == DecisionStatus.VALIDATED,
                Decision.outcome == Outcome.PROCEDURE_PROPOSED,
            ),
            filters,
        ),
        filters,
    ).order_by(Procedure.performed_on, Procedure.id)
    if filters.technique_id is not None:
        performed = performed.where(ProcedurePlan.technique_id == filters.technique_id)
    to_procedure, as_planned, deviated, followed = [], 0, [], set()
    for row in connection.execute(performed):
        decision_id, referral_id, number, meeting_id, performed_on, used, planned, reason = row
        if decision_id in followed:
            continue  # a decision is followed, or not, by its first procedure
        followed.add(decision_id)
        to_procedure.append((performed_on - day_of[meeting_id]).days)
        if planned is None or used == planned:
            as_planned += 1
        else:
            deviated.append(
                Deviation(
                    referral_id,
                    number,
                    performed_on,
                    catalogue[planned].name,
                    catalogue[used].name,
                    reason,
                )
            )
    return ActivityRows(
        meetings=meetings,
        discussed=discussed,
        quorate=quorate,
        to_discussion=to_discussion,
        to_procedure=to_procedure,
        proposed=proposed,
        as_planned=as_planned,
        deviated=deviated,
        refused=refused,
        implemented=implemented,
        not_carried_out=not_done,
    )


# --- the outcomes, aggregated in the database -----------------------------------------


def outcomes(filters: OutcomeFilters, today: date) -> Outcomes:
    """The figures of ``analysis.analyse``, aggregated by the database: four
    queries whose results grow with the number of techniques and time points,
    plus one row per procedure that responded (for the relief curves).

    ``tests/outcomes`` checks that both give the same figures on random data.
    """
    scope = procedure_scope(filters)
    by_technique: dict[int, TechniqueOutcomes] = {}

    def outcome(technique_id: int) -> TechniqueOutcomes:
        return by_technique.setdefault(technique_id, TechniqueOutcomes(technique_id))

    baseline = Referral.nrs_average
    treated = db.session.execute(
        select(
            Procedure.technique_id,
            func.count(),
            func.count(func.distinct(Referral.patient_id)),
            func.sum(case((baseline > 0, baseline))),
            func.count(case((baseline > 0, 1))),
        )
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(Procedure.id.in_(scope))
        .group_by(Procedure.technique_id)
    )
    for technique_id, count, patients, total, with_baseline in treated:
        row = outcome(technique_id)
        row.treated, row.patient_count = count, patients
        row.baseline_total, row.baseline_count = total or 0, with_baseline
    overall_treated, overall_patients = db.session.execute(
        select(func.count(), func.count(func.distinct(Referral.patient_id)))
        .select_from(Procedure)
        .join(Referral, Referral.id == Procedure.referral_id)
        .where(Procedure.id.in_(scope))
    ).one()

    # Counted by day offset, then added up by label as ``analysis.analyse`` does.
    overall: dict[Label, TimePoint] = {}
    for technique_id, days, *counts in db.session.execute(_timepoint_query(scope, today)):
        _add(timepoint(outcome(technique_id).timepoints, days), counts)
        _add(timepoint(overall, days), counts)

    # Procedures with a counted reading and a baseline: each responded or not.
    assessed = dict(
        db.session.execute(
            select(Procedure.technique_id, func.count(func.distinct(Assessment.procedure_id)))
            .join(Procedure, Procedure.id == Assessment.procedure_id)
            .join(Referral, Referral.id == Procedure.referral_id)
            .join(Technique, Technique.id == Procedure.technique_id)
            .where(
                Procedure.id.in_(scope),
                baseline > 0,
                counts_sql(
                    Procedure.performed_on, Assessment.assessed_on, Technique.counts_from_day
                ),
            )
            .group_by(Procedure.technique_id)
        ).all()
    )
    responded: dict[int, int] = defaultdict(int)
    for technique_id, days, ended in db.session.execute(_relief_query(scope)):
        row = outcome(technique_id)
        row.relief_months.append(days / DAYS_PER_MONTH)
        row.relief_ended.append(bool(ended))
        responded[technique_id] += 1
    for technique_id, count in assessed.items():
        outcome(technique_id).no_response = count - responded[technique_id]
    return Outcomes(by_technique, overall_treated, overall_patients, overall)


#: A technique's outcomes for one indication (None: every indication).
ByIndication = dict[tuple[int, int | None], TechniqueOutcomes]


def outcomes_by_indication(today: date, label: Label) -> ByIndication:
    """The treated counts, the time point ``label`` ("month 3") and the relief
    durations of ``outcomes`` (no filter), for each technique by the case's
    indication and for every indication: the same queries grouped by the
    indication too, so that the cost does not grow with the catalogue (five
    queries)."""
    # The day offsets the label covers (``analysis.timepoint`` groups by label).
    offsets = [days for days in range(1, 5 * 366) if describe_day(days) == label]
    scope = procedure_scope(OutcomeFilters())
    found: ByIndication = {}

    def outcome(technique_id: int, indication_id: int | None) -> TechniqueOutcomes:
        return found.setdefault((technique_id, indication_id), TechniqueOutcomes(technique_id))

    def treated(*groups: Any) -> Any:
        return db.session.execute(
            select(*groups, func.count(), func.count(func.distinct(Referral.patient_id)))
            .join(Referral, Referral.id == Procedure.referral_id)
            .group_by(*groups)
        )

    for technique_id, count, patients in treated(Procedure.technique_id):
        row = outcome(technique_id, None)
        row.treated, row.patient_count = count, patients
    for technique_id, indication_id, count, patients in treated(
        Procedure.technique_id, Referral.indication_id
    ):
        row = outcome(technique_id, indication_id)
        row.treated, row.patient_count = count, patients
    for technique_id, indication_id, days, *counts in db.session.execute(
        _timepoint_query(scope, today, by_indication=True, offsets=offsets)
    ):
        _add(timepoint(outcome(technique_id, indication_id).timepoints, days), counts)
        _add(timepoint(outcome(technique_id, None).timepoints, days), counts)
    for technique_id, indication_id, days, ended in db.session.execute(
        _relief_query(scope, by_indication=True)
    ):
        for row in (outcome(technique_id, indication_id), outcome(technique_id, None)):
            row.relief_months.append(days / DAYS_PER_MONTH)
            row.relief_ended.append(bool(ended))
    return found


def _add(point: TimePoint, counts: list[Any]) -> None:
    names = (
        "due",
        "done",
        "missed",
        "compared",
        "moderate_count",
        "substantial_count",
        "nrs_total",
        "nrs_count",
    )
    for name, value in zip(names, counts, strict=True):
        setattr(point, name, getattr(point, name) + int(value or 0))


def _counted(today: date) -> Any:
    """A scheduled time point counts for completeness once due, or done early."""
    return or_(FollowUp.due_on <= today, FollowUp.status == FollowUpStatus.DONE)


def _timepoint_query(
    scope: Any, today: date, *, by_indication: bool = False, offsets: list[int] | None = None
) -> Select[Any]:
    """Counts by technique and day offset (and by the case's indication, as the
    column after the technique, with ``by_indication``; only at ``offsets``
    when given)."""
    status = FollowUp.status
    nrs = Assessment.nrs_average
    baseline = Referral.nrs_average
    counted = _counted(today)
    done = and_(status == FollowUpStatus.DONE, nrs.is_not(None))
    category = reading_category_sql(
        baseline,
        nrs,
        Assessment.pain_is_back,
        Procedure.performed_on,
        Assessment.assessed_on,
        Technique.counts_from_day,
    )
    compared = and_(done, category.is_not(None))

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    groups = (
        (Procedure.technique_id, Referral.indication_id)
        if by_indication
        else (Procedure.technique_id,)
    )
    return (
        select(
            *groups,
            FollowUp.offset_days,
            count(counted),
            count(and_(counted, done)),
            count(and_(counted, counts_as_missed_sql(status, FollowUp.window_end_on, today))),
            count(and_(counted, compared)),
            count(and_(counted, compared, category.in_(AT_LEAST_MODERATE))),
            count(and_(counted, compared, category == Response.SUBSTANTIAL)),
            func.sum(case((and_(counted, done), nrs), else_=0)),
            count(and_(counted, done)),
        )
        .select_from(FollowUp)
        .join(Procedure, Procedure.id == FollowUp.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Technique, Technique.id == Procedure.technique_id)
        .outerjoin(Assessment, Assessment.followup_id == FollowUp.id)
        .where(FollowUp.kind == FollowUpKind.SCHEDULED, Procedure.id.in_(scope))
        .where(FollowUp.offset_days.in_(offsets) if offsets is not None else true())
        .group_by(*groups, FollowUp.offset_days)
    )


def _relief_query(scope: Any, *, by_indication: bool = False) -> Select[Any]:
    """One row per procedure that brought at least a partial response: its
    technique (and its case's indication, with ``by_indication``), the days its
    relief lasted and whether it ended (``followups.rules.relief_duration_sql``)."""
    readings = (
        select(
            Assessment.procedure_id.label("procedure_id"),
            Procedure.performed_on.label("performed_on"),
            Assessment.assessed_on.label("on"),
            Assessment.created_at.label("recorded_at"),
            Assessment.id.label("seq"),
            Assessment.nrs_average.label("nrs"),
            Assessment.pain_is_back.label("back"),
            Referral.nrs_average.label("baseline"),
            Technique.partial_pct.label("partial"),
            Technique.recurrence_pct.label("recurrence"),
            Technique.counts_from_day.label("counts_from"),
        )
        .join(Procedure, Procedure.id == Assessment.procedure_id)
        .join(Referral, Referral.id == Procedure.referral_id)
        .join(Technique, Technique.id == Procedure.technique_id)
        .where(Procedure.id.in_(scope))
        .cte("readings")
    )
    relief = relief_duration_sql(readings).subquery()
    query = select(Procedure.technique_id)
    if by_indication:
        query = query.add_columns(Referral.indication_id).join(
            Referral, Referral.id == Procedure.referral_id
        )
    return query.add_columns(relief.c.days, relief.c.ended).join(
        relief, relief.c.procedure_id == Procedure.id
    )


# --- invitations to answer online ------------------------------------------------------


def invitation_figures(filters: OutcomeFilters, today: date) -> InvitationFigures:
    """``analysis.InvitationFigures`` of the procedures kept by the filters: two
    queries, whose rows grow with the number of channels only."""
    scope = procedure_scope(filters)
    figures = InvitationFigures()
    answered = func.sum(case((Invitation.status == InvitationStatus.ANSWERED, 1), else_=0))
    for channel, sent, done in db.session.execute(
        select(Invitation.channel, func.count(), answered)
        .join(FollowUp, FollowUp.id == Invitation.followup_id)
        .where(FollowUp.procedure_id.in_(scope), Invitation.sent_at.is_not(None))
        .group_by(Invitation.channel)
    ):
        figures.sent[channel.name] = sent
        figures.answered[channel.name] = int(done or 0)
    # Grouped by the columns themselves: PostgreSQL takes no grouping by an
    # expression whose parameters are bound twice.
    for status, mode, channel, count in db.session.execute(
        select(FollowUp.status, Assessment.mode, Invitation.channel, func.count())
        .select_from(FollowUp)
        .outerjoin(Assessment, Assessment.followup_id == FollowUp.id)
        .outerjoin(Invitation, Invitation.assessment_id == Assessment.id)
        .where(
            FollowUp.kind == FollowUpKind.SCHEDULED,
            FollowUp.procedure_id.in_(scope),
            _counted(today),
        )
        .group_by(FollowUp.status, Assessment.mode, Invitation.channel)
    ):
        done = status is FollowUpStatus.DONE
        by_patient = mode is AssessmentMode.SELF_REPORTED
        figures.due += count
        if done:
            how = channel.name if by_patient and channel is not None else BY_TEAM
            figures.done_by[how] = figures.done_by.get(how, 0) + count
    return figures

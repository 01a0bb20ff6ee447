"""What the outcomes page reads: a fixed number of queries whatever the number
of cases, each returning plain rows (no objects, no lazy loads)."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, exists, func, select

from tracker.cases.models import Referral
from tracker.catalogue.models import Technique
from tracker.core.time import to_local
from tracker.decisions.models import (
    AdverseEvent,
    Decision,
    DecisionStatus,
    Outcome,
    PatientAnswer,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.extensions import db
from tracker.followups.models import Assessment, FollowUp, FollowUpKind
from tracker.followups.rules import Reading, Session
from tracker.followups.services import rule_settings
from tracker.meetings.models import AgendaItem, Attendance, ItemState, Meeting, MeetingStatus
from tracker.outcomes.analysis import Scheduled, Treated

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutcomeFilters:
    technique_id: int | None = None
    indication_id: int | None = None
    #: Procedure dates (outcomes) or meeting dates (activity), both included.
    since: date | None = None
    until: date | None = None
    operator_id: int | None = None


def procedure_scope(filters: OutcomeFilters) -> Select[tuple[int]]:
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
    scheduled follow-ups: three queries."""
    scope = procedure_scope(filters)
    readings: dict[int, list[Reading]] = defaultdict(list)
    for procedure_id, on, nrs, back in db.session.execute(
        select(
            Assessment.procedure_id,
            Assessment.assessed_on,
            Assessment.nrs_average,
            Assessment.pain_is_back,
        ).where(Assessment.procedure_id.in_(scope))
    ):
        readings[procedure_id].append(Reading(on, nrs, back))
    settings = {key: rule_settings(technique) for key, technique in catalogue.items()}
    treated = [
        Treated(
            procedure_id,
            patient_id,
            technique_id,
            Session(
                performed_on=performed_on,
                baseline=baseline,
                readings=tuple(sorted(readings[procedure_id], key=lambda r: r.on)),
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
        Scheduled(procedure_id, offset, due_on, status.name, nrs)
        for procedure_id, offset, due_on, status, nrs in db.session.execute(
            select(
                FollowUp.procedure_id,
                FollowUp.offset_days,
                FollowUp.due_on,
                FollowUp.status,
                Assessment.nrs_average,
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
    specialties: dict[int, list[Any]]
    #: Days from referral to the meeting that decided, one per decision.
    to_discussion: list[int]
    #: Days from that meeting to the procedure, one per decision followed.
    to_procedure: list[int]
    proposed: int
    as_planned: int
    deviated: list[Deviation]
    refused: int


def _meeting_period(query: Select[Any], filters: OutcomeFilters) -> Select[Any]:
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


def _case_filters(query: Select[Any], filters: OutcomeFilters) -> Select[Any]:
    if filters.indication_id is not None:
        query = query.where(Referral.indication_id == filters.indication_id)
    return query


def activity_rows(filters: OutcomeFilters, catalogue: dict[int, Technique]) -> ActivityRows:
    """The RCP's activity over held meetings in the period: six queries."""
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
    specialties: dict[int, list[Any]] = defaultdict(list)
    for meeting_id, specialty in db.session.execute(
        select(Attendance.meeting_id, Attendance.specialty).where(Attendance.meeting_id.in_(held))
    ):
        specialties[meeting_id].append(specialty)

    decided = _case_filters(
        _meeting_period(
            select(
                Referral.referral_on,
                Meeting.starts_at,
                Decision.outcome,
                Decision.patient_answer,
                ProcedurePlan.id,
                ProcedurePlan.technique_id,
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
    to_discussion, proposed, refused = [], 0, 0
    for referral_on, starts_at, outcome, answer, _plan, _technique in db.session.execute(decided):
        if referral_on is not None:
            to_discussion.append((to_local(starts_at).date() - referral_on).days)
        if outcome is Outcome.PROCEDURE_PROPOSED:
            proposed += 1
            refused += answer is PatientAnswer.REFUSES

    performed = _case_filters(
        _meeting_period(
            select(
                Decision.id,
                Referral.id,
                Referral.case_number,
                Meeting.starts_at,
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
    for row in db.session.execute(performed):
        decision_id, referral_id, number, starts_at, performed_on, used, planned, reason = row
        if decision_id in followed:
            continue  # a decision is followed, or not, by its first procedure
        followed.add(decision_id)
        to_procedure.append((performed_on - to_local(starts_at).date()).days)
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
        specialties=dict(specialties),
        to_discussion=to_discussion,
        to_procedure=to_procedure,
        proposed=proposed,
        as_planned=as_planned,
        deviated=deviated,
        refused=refused,
    )

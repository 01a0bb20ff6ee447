"""Reading decisions, plans and procedures with a fixed number of queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from tracker.auth.models import User
from tracker.cases.models import Referral
from tracker.core.memo import once_per_request
from tracker.decisions.models import (
    Decision,
    DecisionAmendment,
    DecisionStatus,
    Outcome,
    Procedure,
    ProcedurePlan,
    procedure_operators,
)
from tracker.decisions.rules import Implementation, implementation_sql
from tracker.extensions import db
from tracker.meetings.models import AgendaItem, Attendance, Meeting


def _decision_options():
    # Joined loads only (and ``unique()`` on the results): one query per list.
    return (
        joinedload(Decision.meeting).joinedload(Meeting.chair),
        joinedload(Decision.plan).joinedload(ProcedurePlan.technique),
        joinedload(Decision.amendments),
        joinedload(Decision.validated_by),
    )


def case_decisions(referral_id: int) -> list[Decision]:
    """One case's decisions with everything shown of them, in one query."""

    def load() -> list[Decision]:
        return list(
            db.session.scalars(
                select(Decision)
                .where(Decision.referral_id == referral_id)
                .options(
                    joinedload(Decision.meeting),
                    joinedload(Decision.validated_by),
                    joinedload(Decision.plan).joinedload(ProcedurePlan.technique),
                    joinedload(Decision.amendments).joinedload(DecisionAmendment.amended_by),
                )
                .order_by(Decision.created_at.desc())
            ).unique()
        )

    return once_per_request(("decisions", referral_id), load)


def _procedures_with_details() -> Select[Procedure]:
    """Procedures with technique, operators and adverse events, in the same query
    whatever the data (a selectin load would add queries only when rows exist).

    Flat outer joins for the operators: SQLite reads the whole operators table
    for the nested join that ``joinedload`` writes.
    """
    operator = aliased(User)
    return (
        select(Procedure)
        .outerjoin(procedure_operators, procedure_operators.c.procedure_id == Procedure.id)
        .outerjoin(operator, operator.id == procedure_operators.c.user_id)
        .options(
            joinedload(Procedure.technique),
            joinedload(Procedure.adverse_events),
            contains_eager(Procedure.operators.of_type(operator)),
        )
    )


def case_procedures(referral_id: int) -> list[Procedure]:
    """One case's procedures with technique, operators and adverse events, in one query."""

    def load() -> list[Procedure]:
        return list(
            db.session.scalars(
                _procedures_with_details()
                .where(Procedure.referral_id == referral_id)
                .order_by(Procedure.performed_on.desc())
            ).unique()
        )

    return once_per_request(("procedures", referral_id), load)


def decisions_of_meeting(meeting: Meeting) -> dict[int, Decision]:
    """Decisions by agenda line."""
    rows = db.session.scalars(
        select(Decision).where(Decision.meeting_id == meeting.id).options(*_decision_options())
    ).unique()
    return {decision.agenda_item_id: decision for decision in rows}


def decisions_of_patient(patient_id: int) -> list[Decision]:
    """A patient's decisions, newest first."""
    query = (
        select(Decision)
        .join(Decision.referral)
        .where(Referral.patient_id == patient_id)
        .options(joinedload(Decision.referral), *_decision_options())
        .order_by(Decision.created_at.desc())
    )
    return list(db.session.scalars(query).unique())


def procedures_of_patient(patient_id: int) -> list[Procedure]:
    query = (
        _procedures_with_details()
        .join(Procedure.referral)
        .where(Referral.patient_id == patient_id)
        .options(contains_eager(Procedure.referral))
        .order_by(Procedure.performed_on.desc())
    )
    return list(db.session.scalars(query).unique())


def decision_sheet_query(decision_id: int) -> Select[Decision]:
    """A decision with everything its sheet shows."""
    return (
        select(Decision)
        .where(Decision.id == decision_id)
        .options(
            joinedload(Decision.referral).options(
                joinedload(Referral.patient),
                joinedload(Referral.indication),
                joinedload(Referral.referrer),
            ),
            joinedload(Decision.meeting).options(
                joinedload(Meeting.chair),
                # A draft's sheet lists the attendance with each member's roles.
                selectinload(Meeting.attendance)
                .joinedload(Attendance.user)
                .selectinload(User.role_links),
            ),
            joinedload(Decision.agenda_item).joinedload(AgendaItem.presenter),
            selectinload(Decision.plan).joinedload(ProcedurePlan.technique),
            selectinload(Decision.amendments).joinedload(DecisionAmendment.amended_by),
            joinedload(Decision.validated_by),
            joinedload(Decision.informed_by),
        )
    )


def procedures_of_decision(decision: Decision) -> list[Procedure]:
    if decision.plan is None:
        return []
    return list(
        db.session.scalars(
            _procedures_with_details()
            .where(Procedure.plan_id == decision.plan.id)
            .order_by(Procedure.performed_on)
        ).unique()
    )


# --- follow-through -------------------------------------------------------------------


def first_procedure_technique(plan_id: Any) -> Any:
    """The technique of a plan's first procedure (by date, then as recorded), as a
    correlated scalar subquery: NULL while there is none."""
    return (
        select(Procedure.technique_id)
        .where(Procedure.plan_id == plan_id)
        .order_by(Procedure.performed_on, Procedure.id)
        .limit(1)
        .correlate_except(Procedure)
        .scalar_subquery()
    )


def plan_implementation(plan: Any = ProcedurePlan) -> Any:
    """``rules.implementation`` of each plan, in SQL."""
    return implementation_sql(
        plan.technique_id, first_procedure_technique(plan.id), plan.not_carried_out_reason
    )


def proposals_pending_since(validated_before: datetime) -> list[ProcedurePlan]:
    """Validated proposals of a procedure validated before that moment, still
    pending and whose referrer was not told yet, with their case and its
    referrer loaded."""
    return list(
        db.session.scalars(
            select(ProcedurePlan)
            .join(Decision, Decision.id == ProcedurePlan.decision_id)
            .where(
                Decision.status == DecisionStatus.VALIDATED,
                Decision.outcome == Outcome.PROCEDURE_PROPOSED,
                Decision.validated_at < validated_before,
                ProcedurePlan.pending_told_at.is_(None),
                plan_implementation() == Implementation.PENDING,
            )
            .options(
                contains_eager(ProcedurePlan.decision)
                .joinedload(Decision.referral)
                .joinedload(Referral.referrer)
            )
            .order_by(Decision.validated_at, ProcedurePlan.id)
        ).unique()
    )

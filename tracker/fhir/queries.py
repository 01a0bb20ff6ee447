"""Loading what a case's FHIR resources are built from, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.cases.models import Patient, Referral
from tracker.core.audit import CHANGE_ACTIONS, AuditEntry
from tracker.decisions.models import Decision, DecisionAmendment, Procedure, ProcedurePlan
from tracker.extensions import db
from tracker.followups.models import Assessment
from tracker.meetings.models import AgendaItem, Meeting


@dataclass
class CaseRecord:
    """One case and everything its FHIR resources say."""

    referral: Referral
    decisions: list[Decision] = field(default_factory=list)
    procedures: list[Procedure] = field(default_factory=list)
    assessments: list[Assessment] = field(default_factory=list)
    #: When each row last changed, from the audit trail: {(model name, id): moment}.
    changed: dict[tuple[str, int], datetime] = field(default_factory=dict)


def load_cases(referral_ids: list[int]) -> list[CaseRecord]:
    """The cases, in the order of ``referral_ids``: six queries, whatever their number."""
    if not referral_ids:
        return []
    referrals = db.session.scalars(
        select(Referral)
        .where(Referral.id.in_(referral_ids))
        .options(
            joinedload(Referral.patient),
            joinedload(Referral.indication),
            joinedload(Referral.referrer),
        )
    ).all()
    records = {referral.id: CaseRecord(referral) for referral in referrals}
    for decision in db.session.scalars(
        select(Decision)
        .where(Decision.referral_id.in_(records))
        .options(
            # What the decision sheet shows (the Composition).
            selectinload(Decision.meeting).selectinload(Meeting.chair),
            selectinload(Decision.agenda_item).selectinload(AgendaItem.presenter),
            selectinload(Decision.validated_by),
            selectinload(Decision.informed_by),
            selectinload(Decision.amendments).selectinload(DecisionAmendment.amended_by),
            selectinload(Decision.plan).selectinload(ProcedurePlan.technique),
            selectinload(Decision.plan).selectinload(ProcedurePlan.procedures),
        )
        .order_by(Decision.created_at, Decision.id)
    ):
        records[decision.referral_id].decisions.append(decision)
    for procedure in db.session.scalars(
        select(Procedure)
        .where(Procedure.referral_id.in_(records))
        .options(
            selectinload(Procedure.technique),
            selectinload(Procedure.operators),
            selectinload(Procedure.adverse_events),
            selectinload(Procedure.plan),
        )
        .order_by(Procedure.performed_on, Procedure.id)
    ):
        records[procedure.referral_id].procedures.append(procedure)
    for assessment in db.session.scalars(
        select(Assessment)
        .where(Assessment.referral_id.in_(records))
        .options(selectinload(Assessment.recorded_by))
        .order_by(Assessment.assessed_on, Assessment.created_at, Assessment.id)
    ):
        records[assessment.referral_id].assessments.append(assessment)
    changed = last_changes(list(records), {r.patient_id for r in referrals})
    for record in records.values():
        record.changed = changed
    return [records[referral_id] for referral_id in referral_ids if referral_id in records]


def last_changes(referral_ids: list[int], patient_ids: set[int]) -> dict[tuple[str, int], datetime]:
    """When each row of these cases (and these patients' records) last changed."""
    belongs = or_(
        AuditEntry.referral_id.in_(referral_ids),
        and_(
            AuditEntry.entity_type == "Patient",
            AuditEntry.entity_id.in_([str(patient_id) for patient_id in patient_ids]),
        ),
    )
    rows = db.session.execute(
        select(AuditEntry.entity_type, AuditEntry.entity_id, func.max(AuditEntry.recorded_at))
        .where(belongs, AuditEntry.action.in_(CHANGE_ACTIONS))
        .group_by(AuditEntry.entity_type, AuditEntry.entity_id)
    )
    found: dict[tuple[str, int], datetime] = {}
    for entity_type, entity_id, moment in rows:
        if entity_id.isdigit():
            found[(entity_type, int(entity_id))] = moment
    return found


def patient_case_ids(patient_id: int) -> list[int]:
    """The patient's cases, oldest first."""
    return list(
        db.session.scalars(
            select(Referral.id).where(Referral.patient_id == patient_id).order_by(Referral.id)
        )
    )


def patient_by_mrn(mrn: str) -> Patient | None:
    return db.session.scalar(select(Patient).where(Patient.mrn == mrn))


def patients(patient_ids: list[int]) -> list[Patient]:
    return list(
        db.session.scalars(select(Patient).where(Patient.id.in_(patient_ids)).order_by(Patient.id))
    )

"""The team's decision (fiche RCP), the procedure plan, and the procedure performed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.cases.models import PainSide, Referral
from tracker.catalogue.models import Technique
from tracker.core.audit import Anchored, Audited
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.locking import Versioned
from tracker.core.time import utcnow
from tracker.extensions import Model, db
from tracker.meetings.models import AgendaItem, Meeting


class Outcome(LabelledEnum):
    PROCEDURE_PROPOSED = "procedure_proposed"
    MEDICAL_TREATMENT = "medical_treatment"
    FURTHER_INVESTIGATION = "further_investigation"
    REFERRAL_ELSEWHERE = "referral_elsewhere"
    NOT_INDICATED = "not_indicated"
    POSTPONED = "postponed"


with_labels(
    Outcome,
    {
        Outcome.PROCEDURE_PROPOSED: _l("Procedure proposed"),
        Outcome.MEDICAL_TREATMENT: _l("Medical or conservative treatment"),
        Outcome.FURTHER_INVESTIGATION: _l("Further investigation needed"),
        Outcome.REFERRAL_ELSEWHERE: _l("Referral to another specialty"),
        Outcome.NOT_INDICATED: _l("Not indicated"),
        Outcome.POSTPONED: _l("Postponed to a later meeting"),
    },
)


class DecisionStatus(LabelledEnum):
    DRAFT = "draft"
    VALIDATED = "validated"


with_labels(
    DecisionStatus,
    {DecisionStatus.DRAFT: _l("Draft"), DecisionStatus.VALIDATED: _l("Validated")},
)


class PatientAnswer(LabelledEnum):
    ACCEPTS = "accepts"
    REFUSES = "refuses"
    WANTS_TIME = "wants_time"


with_labels(
    PatientAnswer,
    {
        PatientAnswer.ACCEPTS: _l("Accepts"),
        PatientAnswer.REFUSES: _l("Refuses"),
        PatientAnswer.WANTS_TIME: _l("Wants time to think"),
    },
)


class Decision(Anchored, Versioned, Model):
    """What the meeting decided for a case: the RCP decision sheet."""

    __audit_label__ = _l("Decision")

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    #: The agenda line the case was discussed under (one decision each).
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    status: Mapped[DecisionStatus] = mapped_column(default=DecisionStatus.DRAFT)
    outcome: Mapped[Outcome | None]
    reasons: Mapped[str | None] = mapped_column(Text)
    #: Whether the proposal follows the reference guidelines, and which.
    follows_guidelines: Mapped[bool | None]
    guideline_reference: Mapped[str | None] = mapped_column(String(500))
    clinical_trial_proposed: Mapped[bool] = mapped_column(default=False)
    clinical_trial: Mapped[str | None] = mapped_column(String(300))
    #: Frozen at validation: [{"user_id", "name", "specialty", "roles",
    #: "form_of_address", "guest"}] (no "user_id" before December 2026, no
    #: "form_of_address" before its 6th), so the sheet
    #: keeps who decided whatever later happens to the accounts.
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    quorum_met: Mapped[bool | None]
    validated_at: Mapped[datetime | None]
    validated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The last save of the draft (each one moves the version on, so that an
    #: editor working from an older one is told).
    draft_saved_at: Mapped[datetime | None]
    draft_saved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Explaining the proposal to the patient, who may accept or refuse.
    informed_on: Mapped[date | None]
    informed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    patient_answer: Mapped[PatientAnswer | None]

    referral: Mapped[Referral] = relationship()
    meeting: Mapped[Meeting] = relationship()
    agenda_item: Mapped[AgendaItem] = relationship()
    validated_by: Mapped[User | None] = relationship(foreign_keys=[validated_by_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    draft_saved_by: Mapped[User | None] = relationship(foreign_keys=[draft_saved_by_id])
    informed_by: Mapped[User | None] = relationship(foreign_keys=[informed_by_id])
    plan: Mapped[ProcedurePlan | None] = relationship(back_populates="decision", uselist=False)
    amendments: Mapped[list[DecisionAmendment]] = relationship(
        back_populates="decision", order_by="DecisionAmendment.amended_at"
    )

    @property
    def is_validated(self) -> bool:
        return self.status is DecisionStatus.VALIDATED


class DecisionAmendment(Audited, Model):
    """A correction to a validated decision, with its reason and what it changed."""

    __audit_label__ = _l("Decision amendment")
    # What the amendment changed is recorded on the decision's own entry, in
    # the same save: the amendment's entry says who corrected it and why.
    __audit_exclude__ = frozenset({"changes"})

    __tablename__ = "decision_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), index=True)
    amended_at: Mapped[datetime] = mapped_column(default=utcnow)
    amended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    #: {field: [old, new]}
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)

    decision: Mapped[Decision] = relationship(back_populates="amendments")
    amended_by: Mapped[User | None] = relationship()

    def audit_case_id(self) -> int | None:
        return self.decision.referral_id if self.decision is not None else None


class Guidance(LabelledEnum):
    ULTRASOUND = "ultrasound"
    CT = "ct"
    MRI = "mri"
    FLUOROSCOPY = "fluoroscopy"
    CONE_BEAM_CT = "cone_beam_ct"
    ANGIOGRAPHY = "angiography"


with_labels(
    Guidance,
    {
        Guidance.ULTRASOUND: _l("Ultrasound"),
        Guidance.CT: _l("CT"),
        Guidance.MRI: _l("MRI"),
        Guidance.FLUOROSCOPY: _l("Fluoroscopy"),
        Guidance.CONE_BEAM_CT: _l("Cone-beam CT"),
        Guidance.ANGIOGRAPHY: _l("Angiography"),
    },
)


class Anaesthesia(LabelledEnum):
    LOCAL = "local"
    SEDATION = "sedation"
    GENERAL = "general"


with_labels(
    Anaesthesia,
    {
        Anaesthesia.LOCAL: _l("Local"),
        Anaesthesia.SEDATION: _l("Neuroleptanalgesia / sedation"),
        Anaesthesia.GENERAL: _l("General"),
    },
)


class CareSetting(LabelledEnum):
    AMBULATORY = "ambulatory"
    SHORT_STAY = "short_stay"


with_labels(
    CareSetting,
    {
        CareSetting.AMBULATORY: _l("Ambulatory"),
        CareSetting.SHORT_STAY: _l("Short stay (1-2 days)"),
    },
)


class PlanPriority(LabelledEnum):
    ROUTINE = "routine"
    PRIORITY = "priority"
    URGENT = "urgent"


with_labels(
    PlanPriority,
    {
        PlanPriority.ROUTINE: _l("Routine"),
        PlanPriority.PRIORITY: _l("Priority"),
        PlanPriority.URGENT: _l("Urgent"),
    },
)


class NotCarriedOut(LabelledEnum):
    """Why a proposed procedure was not carried out (DOMAIN "Decision follow-through")."""

    PATIENT_CHOICE = "patient_choice"
    CLINICAL_CHANGE = "clinical_change"
    DID_NOT_ATTEND = "did_not_attend"
    CONTRAINDICATION = "contraindication"
    DIED = "died"
    OTHER = "other"


with_labels(
    NotCarriedOut,
    {
        NotCarriedOut.PATIENT_CHOICE: _l("Patient's or family's choice"),
        NotCarriedOut.CLINICAL_CHANGE: _l("Change in the clinical situation"),
        NotCarriedOut.DID_NOT_ATTEND: _l("Patient did not attend"),
        NotCarriedOut.CONTRAINDICATION: _l("Contraindication found"),
        NotCarriedOut.DIED: _l("Patient died"),
        NotCarriedOut.OTHER: _l("Other reason"),
    },
)


#: The checklist before a procedure: (column, label).
PREREQUISITES = (
    ("anticoagulation_managed_on", _l("Anticoagulant / antiplatelet management")),
    ("consent_on", _l("Informed consent")),
    ("blood_tests_on", _l("Blood tests")),
    ("fasting_on", _l("Fasting instructions (when sedated)")),
)


class ProcedurePlan(Anchored, Versioned, Model):
    """How the proposed procedure will be done."""

    __audit_label__ = _l("Procedure plan")
    #: When the referrer was told the plan is pending: the messages' bookkeeping,
    #: written by the reminder job in one statement outside the trail.
    __audit_exclude__ = frozenset({"pending_told_at"})

    __tablename__ = "procedure_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    technique_id: Mapped[int | None] = mapped_column(ForeignKey("techniques.id"))
    #: Nerve, neuroma, level, joint...
    target: Mapped[str | None] = mapped_column(String(200))
    side: Mapped[PainSide | None]
    #: Names of ``Guidance`` members.
    guidance: Mapped[list[str]] = mapped_column(JSON, default=list, info={"enum": Guidance})
    anaesthesia: Mapped[Anaesthesia | None]
    care_setting: Mapped[CareSetting | None]
    anaesthetist_needed: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[PlanPriority] = mapped_column(default=PlanPriority.ROUTINE)
    target_on: Mapped[date | None]
    #: Nerve treatments: distance from the lesion to the end organ, for the
    #: expected window of nerve regrowth.
    distance_mm: Mapped[int | None]
    notes: Mapped[str | None] = mapped_column(Text)
    # The checklist: the date each prerequisite was done (empty: still to do).
    anticoagulation_managed_on: Mapped[date | None]
    consent_on: Mapped[date | None]
    blood_tests_on: Mapped[date | None]
    fasting_on: Mapped[date | None]
    #: Recorded by the team when the proposal will not be carried out.
    not_carried_out_reason: Mapped[NotCarriedOut | None]
    not_carried_out_note: Mapped[str | None] = mapped_column(Text)
    not_carried_out_on: Mapped[date | None]
    not_carried_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: When the referrer was told the proposal is still pending (told once).
    pending_told_at: Mapped[datetime | None]

    decision: Mapped[Decision] = relationship(back_populates="plan")
    technique: Mapped[Technique | None] = relationship()
    procedures: Mapped[list[Procedure]] = relationship(back_populates="plan")

    @property
    def implementation(self) -> Any:
        """An ``Implementation`` (``rules.implementation``), from the procedures recorded."""
        from tracker.decisions.rules import implementation

        first = min(self.procedures, key=lambda p: (p.performed_on, p.id), default=None)
        return implementation(
            self.technique_id,
            None if first is None else first.technique_id,
            self.not_carried_out_reason,
        )

    @property
    def guidance_modes(self) -> list[Guidance]:
        return [Guidance[name] for name in self.guidance or []]

    @property
    def checklist(self) -> list[tuple[str, Any, date | None]]:
        return [(name, label, getattr(self, name)) for name, label in PREREQUISITES]


procedure_operators = Table(
    "procedure_operators",
    db.metadata,
    Column("procedure_id", ForeignKey("procedures.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)


class Procedure(Anchored, Model):
    """A procedure performed."""

    __audit_label__ = _l("Procedure")

    __tablename__ = "procedures"
    __table_args__ = (Index(None, "technique_id", "performed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("procedure_plans.id"), index=True)
    performed_on: Mapped[date] = mapped_column(index=True)
    technique_id: Mapped[int] = mapped_column(ForeignKey("techniques.id"))
    #: Why the technique used differs from the plan (a deviation), if it does.
    deviation_reason: Mapped[str | None] = mapped_column(Text)
    target: Mapped[str | None] = mapped_column(String(200))
    distance_mm: Mapped[int | None]
    # Parameters of the technique used.
    cryo_cycles: Mapped[int | None]
    cryo_freeze_minutes: Mapped[float | None]
    cryo_probe_temperature_c: Mapped[int | None]
    rf_temperature_c: Mapped[int | None]
    rf_duration_seconds: Mapped[int | None]
    toxin_units: Mapped[int | None]
    cement_volume_ml: Mapped[float | None]
    cement_levels: Mapped[str | None] = mapped_column(String(100))
    immediate_result: Mapped[str | None] = mapped_column(Text)
    #: The plan's prerequisites not done when the procedure was performed, and
    #: why: {prerequisite (a column of the plan): reason}.
    prerequisites_not_done: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship()
    plan: Mapped[ProcedurePlan | None] = relationship(back_populates="procedures")
    technique: Mapped[Technique] = relationship()
    operators: Mapped[list[User]] = relationship(secondary=procedure_operators)
    adverse_events: Mapped[list[AdverseEvent]] = relationship(
        back_populates="procedure", order_by="AdverseEvent.id", cascade="all"
    )

    @property
    def is_deviation(self) -> bool:
        from tracker.decisions.rules import deviates

        return self.plan is not None and deviates(self.plan.technique_id, self.technique_id)

    @property
    def worst_cirse_grade(self) -> int | None:
        return max((event.cirse_grade for event in self.adverse_events), default=None)

    @property
    def skipped_prerequisites(self) -> list[tuple[Any, str]]:
        """(label, reason) of each prerequisite not done, in checklist order."""
        skipped = self.prerequisites_not_done or {}
        return [(label, skipped[name]) for name, label in PREREQUISITES if name in skipped]


#: CIRSE adverse event classification (Filippiadis et al., CVIR 2017).
CIRSE_GRADES = {
    1: _l("Grade 1: resolved in the same session"),
    2: _l("Grade 2: overnight observation or outpatient care"),
    3: _l("Grade 3: additional therapy or prolonged stay"),
    4: _l("Grade 4: permanent mild sequela"),
    5: _l("Grade 5: permanent severe sequela"),
    6: _l("Grade 6: death"),
}


class AdverseEvent(Anchored, Model):
    __audit_label__ = _l("Adverse event")

    __tablename__ = "adverse_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    cirse_grade: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    procedure: Mapped[Procedure] = relationship(back_populates="adverse_events")

    def audit_case_id(self) -> int | None:
        return self.procedure.referral_id

    @property
    def grade_label(self) -> str:
        return str(CIRSE_GRADES[self.cirse_grade])

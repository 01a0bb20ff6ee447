"""Planned follow-ups, pain assessments, and each case's retreatment verdict."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, column
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from tracker.auth.models import User
from tracker.cases.models import Referral
from tracker.core.audit import Anchored
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.time import utcnow
from tracker.decisions.models import Procedure
from tracker.extensions import Model
from tracker.followups.rules import FollowUpStatus, Kind, is_open_sql

__all__ = ["FollowUpStatus"]  # declared with the rules that read it


class FollowUpKind(LabelledEnum):
    #: A time point of the technique's schedule.
    SCHEDULED = "scheduled"
    #: The extra check placed in the expected window of nerve regrowth.
    REGROWTH = "regrowth"


with_labels(
    FollowUpKind,
    {
        FollowUpKind.SCHEDULED: _l("Scheduled"),
        FollowUpKind.REGROWTH: _l("Regrowth check"),
    },
)


class FollowUp(Anchored, Model):
    """A follow-up planned after a procedure."""

    __audit_label__ = _l("Follow-up")

    __tablename__ = "followups"
    __table_args__ = (
        # The worklist: planned follow-ups by due date, per owner.
        Index(None, "status", "due_on"),
        Index(None, "responsible_id", "status", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    kind: Mapped[FollowUpKind] = mapped_column(default=FollowUpKind.SCHEDULED)
    #: Days after the procedure (the time point: week 1, month 3...).
    offset_days: Mapped[int]
    due_on: Mapped[date]
    #: The dates an assessment fulfils it: around the due date for a time point
    #: of the schedule, the estimated window of regrowth for the regrowth check.
    window_start_on: Mapped[date | None]
    window_end_on: Mapped[date | None]
    status: Mapped[FollowUpStatus] = mapped_column(default=FollowUpStatus.PLANNED)
    #: The follow-up's owner, who calls the patient (a clinician); empty: the
    #: team queue. The case's planned follow-ups share one owner.
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    missed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    procedure: Mapped[Procedure] = relationship()
    referral: Mapped[Referral] = relationship()
    responsible: Mapped[User | None] = relationship()
    assessment: Mapped[Assessment | None] = relationship(back_populates="followup", uselist=False)


class AssessmentMode(LabelledEnum):
    VISIT = "visit"
    PHONE = "phone"
    MESSAGE = "message"
    #: Answered by the patient through a link (an invitation).
    SELF_REPORTED = "self_reported"


with_labels(
    AssessmentMode,
    {
        AssessmentMode.VISIT: _l("Visit"),
        AssessmentMode.PHONE: _l("Phone call"),
        AssessmentMode.MESSAGE: _l("Message"),
        AssessmentMode.SELF_REPORTED: _l("Patient-reported (online)"),
    },
)


class SideEffect(LabelledEnum):
    NUMBNESS = "numbness"
    BRUISING = "bruising"
    LOCAL_PAIN = "local_pain"
    OTHER = "other"


with_labels(
    SideEffect,
    {
        SideEffect.NUMBNESS: _l("Numbness"),
        SideEffect.BRUISING: _l("Bruising"),
        SideEffect.LOCAL_PAIN: _l("Local pain"),
        SideEffect.OTHER: _l("Other"),
    },
)


class AnalgesicUse(LabelledEnum):
    MORE = "more"
    SAME = "same"
    LESS = "less"
    STOPPED = "stopped"


with_labels(
    AnalgesicUse,
    {
        AnalgesicUse.MORE: _l("More"),
        AnalgesicUse.SAME: _l("The same"),
        AnalgesicUse.LESS: _l("Less"),
        AnalgesicUse.STOPPED: _l("Stopped"),
    },
)

#: Patient Global Impression of Change, 1 to 7.
PGIC = {
    1: _l("1 - Very much improved"),
    2: _l("2 - Much improved"),
    3: _l("3 - Minimally improved"),
    4: _l("4 - No change"),
    5: _l("5 - Minimally worse"),
    6: _l("6 - Much worse"),
    7: _l("7 - Very much worse"),
}


class Assessment(Anchored, Model):
    """Pain and its effects, measured at a follow-up (or unscheduled)."""

    __audit_label__ = _l("Assessment")

    __tablename__ = "assessments"
    __table_args__ = (Index(None, "referral_id", "assessed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    #: The procedure this assessment follows (the case's latest at the time).
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedures.id"), index=True)
    #: The planned follow-up it fulfils; empty for an unscheduled assessment.
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), unique=True)
    assessed_on: Mapped[date]
    mode: Mapped[AssessmentMode]
    #: Pain on the 11-point numeric rating scale (0-10).
    nrs_now: Mapped[int | None]
    nrs_average: Mapped[int]
    nrs_worst: Mapped[int | None]
    #: The patient's own estimate of relief, in percent.
    relief_pct: Mapped[int | None]
    pgic: Mapped[int | None]
    dn4: Mapped[int | None]
    #: Names of ``SideEffect`` members.
    side_effects: Mapped[list[str]] = mapped_column(JSON, default=list, info={"enum": SideEffect})
    side_effects_other: Mapped[str | None] = mapped_column(String(300))
    analgesic_use: Mapped[AnalgesicUse | None]
    pain_is_back: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    referral: Mapped[Referral] = relationship()
    procedure: Mapped[Procedure] = relationship()
    followup: Mapped[FollowUp | None] = relationship(back_populates="assessment")
    recorded_by: Mapped[User | None] = relationship()

    @property
    def effects(self) -> list[SideEffect]:
        return [SideEffect[name] for name in self.side_effects or []]


class CaseVerdict(Model):
    """The retreatment verdict of a treated case, kept up to date so that lists
    of eligible cases are one indexed query (recomputed when an assessment,
    procedure or adverse event is recorded, and daily by the scheduler)."""

    __tablename__ = "case_verdicts"
    __table_args__ = (
        # Lists of eligible cases walk this in order and stop at their page (the
        # only index on the verdict's kind: with another, SQLite's planner would
        # fetch both kinds and sort them all).
        Index(
            "ix_case_verdicts_open",
            "eligible_from",
            "referral_id",
            sqlite_where=is_open_sql(column("kind")),
            postgresql_where=is_open_sql(column("kind")),
        ),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    kind: Mapped[Kind]
    eligible_from: Mapped[date | None]
    recurrence: Mapped[bool] = mapped_column(default=False)
    partial: Mapped[bool] = mapped_column(default=False)
    #: [{"code": ..., "values": {...}}]: put into words when shown.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the referrer was e-mailed that the case is eligible for re-discussion
    #: (once per case: a verdict recomputed later keeps it).
    referrer_told_at: Mapped[datetime | None]

    #: ``referral.verdict`` lets the case page load it with the case.
    referral: Mapped[Referral] = relationship(backref=backref("verdict", uselist=False))

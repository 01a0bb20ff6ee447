"""Follow-up schedules, assessments, verdicts, closing and presenting again."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from tracker.auth.models import User
from tracker.cases import services as case_services
from tracker.cases.forms import ReferralFields
from tracker.cases.models import Referral, TreatmentTried
from tracker.cases.rules import CaseStatus
from tracker.catalogue.models import Technique
from tracker.core.errors import DomainError, Forbidden
from tracker.core.fields import assign, data_fields
from tracker.core.time import local_today, utcnow
from tracker.decisions.models import Procedure
from tracker.decisions.services import adverse_event_recorded, procedure_recorded
from tracker.extensions import db
from tracker.followups.forms import AssessmentForm
from tracker.followups.models import (
    Assessment,
    AssessmentMode,
    CaseVerdict,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
)
from tracker.followups.permissions import (
    can_change_owner,
    can_close_case,
    can_log_assessment,
    can_mark_missed,
    can_present_again,
    may_own_followups,
)
from tracker.followups.queries import readings_by_procedure
from tracker.followups.rules import (
    Reading,
    RuleSettings,
    Session,
    Verdict,
    followup_plan,
    fulfilled_by,
    in_order,
    in_window,
    latest_first_sql,
    pain_back,
    regrowth_window,
    retreatment_verdict,
)
from tracker.followups.settings import REGROWTH_FAST, REGROWTH_SLOW

logger = logging.getLogger(__name__)


#: Statuses of a case that has been treated.
TREATED_STATUSES = (CaseStatus.TREATED, CaseStatus.FOLLOW_UP, CaseStatus.CLOSED)

SCORES = {
    "nrs_now": (0, 10),
    "nrs_average": (0, 10),
    "nrs_worst": (0, 10),
    "dn4": (0, 10),
    "relief_pct": (0, 100),
    "pgic": (1, 7),
}

# --- schedules ------------------------------------------------------------------


def window_for(procedure: Procedure) -> tuple[date, date] | None:
    """The expected window of nerve regrowth after a nerve treatment."""
    if not procedure.technique.acts_on_nerve:
        return None
    distance = procedure.distance_mm
    if distance is None and procedure.plan is not None:
        distance = procedure.plan.distance_mm
    return regrowth_window(
        procedure.performed_on,
        distance,
        REGROWTH_FAST.value,
        REGROWTH_SLOW.value,
    )


def default_owner(referral: Referral) -> User | None:
    """Who owns a new schedule when nobody is chosen: the case's present owner,
    else its referrer when a clinician, else nobody (the team queue)."""
    present = db.session.scalar(
        select(FollowUp.responsible_id)
        .where(FollowUp.referral_id == referral.id, FollowUp.responsible_id.is_not(None))
        .order_by(FollowUp.id.desc())
        .limit(1)
    )
    if present is not None:
        return db.session.get(User, present)
    referrer = referral.referrer
    return referrer if referrer is not None and may_own_followups(referrer) else None


def _owner(owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.is_active or not may_own_followups(owner):
        raise DomainError(
            _l("The follow-up owner is a clinician of the team (nurse, pain physician)."),
            "followup_owner_id",
        )
    return owner


NOBODY_CHOSEN: Any = object()


@procedure_recorded.connect
def create_schedule(
    procedure: Procedure, followup_owner_id: Any = NOBODY_CHOSEN, **extra: Any
) -> list[FollowUp]:
    """Plan the follow-ups of a procedure from its technique's schedule, each with
    its window, plus a check in the expected regrowth window for nerve
    treatments; owned by the clinician chosen (``None``: the team queue), else
    by ``default_owner``."""
    referral = db.session.get_one(Referral, procedure.referral_id)
    if followup_owner_id is NOBODY_CHOSEN:
        owner = default_owner(referral)
    else:
        owner = _owner(followup_owner_id)
    technique = procedure.technique
    checks = followup_plan(
        procedure.performed_on,
        technique.followup_days or [],
        window_for(procedure),
        technique.followup_windows,
    )
    planned = [
        FollowUp(
            procedure=procedure,
            referral_id=procedure.referral_id,
            kind=FollowUpKind.REGROWTH if check.regrowth else FollowUpKind.SCHEDULED,
            offset_days=check.offset_days,
            due_on=check.due_on,
            window_start_on=check.window[0],
            window_end_on=check.window[1],
            responsible_id=owner.id if owner is not None else None,
        )
        for check in checks
    ]
    db.session.add_all(planned)
    db.session.flush()
    refresh_verdict(referral)
    return planned


def owner_among(followups: Iterable[FollowUp]) -> User | None:
    """The owner of a case's follow-up, from its follow-ups: that of its latest
    planned one (of its latest one when none is planned)."""
    latest = max(followups, key=lambda f: (f.status is FollowUpStatus.PLANNED, f.id), default=None)
    return latest.responsible if latest is not None else None


def case_owner(referral: Referral) -> User | None:
    """The owner of the case's follow-up (``owner_among`` its follow-ups)."""
    return owner_among(
        db.session.scalars(select(FollowUp).where(FollowUp.referral_id == referral.id))
    )


def change_owner(referral: Referral, owner_id: int | None, *, by: User) -> int:
    """Give the case's planned follow-ups to another clinician (``None``: the team
    queue); how many moved. Audited with each follow-up."""
    if not can_change_owner(by, referral):
        raise Forbidden()
    owner = _owner(owner_id)
    planned = db.session.scalars(
        select(FollowUp).where(
            FollowUp.referral_id == referral.id, FollowUp.status == FollowUpStatus.PLANNED
        )
    ).all()
    if not planned:
        raise DomainError(_l("No follow-up is planned for this case."), "followup_owner_id")
    for followup in planned:
        followup.responsible = owner
    db.session.flush()
    return len(planned)


# --- verdicts ------------------------------------------------------------------


@adverse_event_recorded.connect
def _adverse_event(procedure: Procedure, **extra: Any) -> None:
    # A severe adverse event changes what may follow (no routine repeat).
    referral = db.session.get_one(Referral, procedure.referral_id)
    if db.session.get(CaseVerdict, referral.id) is not None:
        refresh_verdict(referral)


def episode_chain(referral: Referral) -> list[int]:
    """Ids of this case and the earlier cases it presents again, oldest first
    (one recursive query)."""
    chain = (
        select(Referral.id, Referral.previous_referral_id)
        .where(Referral.id == referral.id)
        .cte(name="chain", recursive=True)
    )
    earlier = select(Referral.id, Referral.previous_referral_id).join(
        chain, Referral.id == chain.c.previous_referral_id
    )
    chain = chain.union(earlier)
    return sorted(db.session.scalars(select(chain.c.id)))


def rule_settings(technique: Technique) -> RuleSettings:
    return RuleSettings(
        responder_pct=technique.responder_pct,
        partial_pct=technique.partial_pct,
        recurrence_pct=technique.recurrence_pct,
        min_interval_days=technique.min_retreat_days,
        max_failed_sessions=technique.max_failed_sessions,
        blocking_cirse_grade=technique.blocking_cirse_grade,
        retreatable=technique.retreatable,
        counts_from_day=technique.counts_from_day,
    )


def session_of(procedure: Procedure, baseline: int | None, readings: Iterable[Reading]) -> Session:
    """One procedure as the retreatment rule reads it (its technique loaded)."""
    return Session(
        performed_on=procedure.performed_on,
        baseline=baseline,
        readings=tuple(in_order(readings)),
        worst_cirse_grade=procedure.worst_cirse_grade,
        settings=rule_settings(procedure.technique),
        technique=procedure.technique.name,
    )


def sessions_for(referral: Referral) -> list[Session]:
    """Every procedure of the problem (across its episodes) with the assessments
    that followed it, for the retreatment rule. Four queries."""
    chain = episode_chain(referral)
    baselines = dict(
        db.session.execute(
            select(Referral.id, Referral.nrs_average).where(Referral.id.in_(chain))
        ).all()
    )
    procedures = db.session.scalars(
        select(Procedure)
        .where(Procedure.referral_id.in_(chain))
        .options(joinedload(Procedure.technique), joinedload(Procedure.adverse_events))
        .order_by(Procedure.performed_on, Procedure.id)
    ).unique()
    readings = readings_by_procedure(Assessment.referral_id.in_(chain))
    return [
        session_of(procedure, baselines.get(procedure.referral_id), readings.get(procedure.id, ()))
        for procedure in procedures
    ]


def compute_verdict(referral: Referral, today: date | None = None) -> Verdict:
    return retreatment_verdict(sessions_for(referral), today or local_today())


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def refresh_verdict(referral: Referral, today: date | None = None) -> CaseVerdict:
    """Recompute and keep the case's verdict (lists of eligible cases read it)."""
    verdict = compute_verdict(referral, today)
    row = db.session.get(CaseVerdict, referral.id)
    if row is None:
        row = CaseVerdict(referral_id=referral.id)
        db.session.add(row)
    row.kind = verdict.kind
    row.eligible_from = verdict.eligible_from
    row.recurrence = verdict.recurrence
    row.partial = verdict.partial
    row.reasons = [
        {"code": reason.code, "values": {k: _plain(v) for k, v in reason.values.items()}}
        for reason in verdict.reasons
    ]
    row.computed_at = utcnow()
    db.session.flush()
    return row


# --- assessments -----------------------------------------------------------------


def latest_procedure(referral: Referral) -> Procedure | None:
    return db.session.scalar(
        select(Procedure)
        .where(Procedure.referral_id == referral.id)
        .order_by(Procedure.performed_on.desc(), Procedure.id.desc())
        .limit(1)
    )


def _check_values(values: dict[str, Any], procedure: Procedure) -> None:
    assessed_on = values.get("assessed_on")
    if assessed_on is None:
        raise DomainError(_l("Give the date of the assessment."), "assessed_on")
    if assessed_on > local_today():
        raise DomainError(_l("This date is in the future."), "assessed_on")
    if assessed_on < procedure.performed_on:
        raise DomainError(
            _l(
                "The assessment cannot come before the procedure (%(date)s).",
                date=procedure.performed_on,
            ),
            "assessed_on",
        )
    if values.get("nrs_average") is None:
        raise DomainError(_l("Give the average pain (0-10)."), "nrs_average")
    for name, (low, high) in SCORES.items():
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or not low <= value <= high):
            raise DomainError(
                _l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high), name
            )
    if values.get("mode") is None:
        raise DomainError(_l("Say how the patient was assessed."), "mode")


def log_assessment(
    referral: Referral,
    values: dict[str, Any],
    *,
    by: User | None,
    followup: FollowUp | None = None,
    patient_reported: bool = False,
) -> Assessment:
    """Record an assessment (for a planned follow-up, or unscheduled). With
    ``by=None`` the patient's own answers are recorded (``patient_reported``),
    through a checked link: no user is acting."""
    if by is None:
        if not patient_reported:
            raise Forbidden()
    elif not can_log_assessment(by, referral):
        raise Forbidden()
    if (values.get("mode") is AssessmentMode.SELF_REPORTED) is not patient_reported:
        raise DomainError(_l("Say how the patient was assessed."), "mode")
    if referral.status not in TREATED_STATUSES:
        raise DomainError(_l("Follow-up starts once the procedure is recorded."))
    procedure = latest_procedure(referral)
    if procedure is None:
        raise DomainError(_l("Follow-up starts once the procedure is recorded."))
    if followup is not None:
        if followup.referral_id != referral.id:
            raise DomainError(_l("This follow-up belongs to another case."))
        if followup.status is not FollowUpStatus.PLANNED:
            raise DomainError(_l("This follow-up has already been done or marked missed."))
    _check_values(values, procedure)
    fulfils = _fulfilled(procedure, values["assessed_on"], followup)
    assessment = Assessment(
        referral_id=referral.id,
        procedure_id=procedure.id,
        recorded_by_id=by.id if by is not None else None,
    )
    assign(assessment, values, AssessmentForm)
    db.session.add(assessment)
    if fulfils is not None:
        assessment.followup = fulfils
        fulfils.status = FollowUpStatus.DONE
    db.session.flush()
    _follow_status(referral, assessment, procedure, by)
    refresh_verdict(referral)
    return assessment


#: Time points an assessment may still fulfil: planned, or whose window closed
#: with none recorded (an assessment made in the window and typed in later).
FULFILLABLE = (FollowUpStatus.PLANNED, FollowUpStatus.OUT_OF_WINDOW)


def _fulfilled(procedure: Procedure, on: date, chosen: FollowUp | None) -> FollowUp | None:
    """The time point an assessment dated ``on`` fulfils: the one it was recorded
    for when its window contains the date, else the one whose window does (the
    nearest due date), else none: the assessment is unscheduled."""
    if chosen is not None and in_window(chosen, on):
        return chosen
    candidates = db.session.scalars(
        select(FollowUp).where(
            FollowUp.procedure_id == procedure.id, FollowUp.status.in_(FULFILLABLE)
        )
    ).all()
    return fulfilled_by(on, candidates)


def is_pain_back(assessment: Assessment) -> bool:
    """Whether an assessment says the pain has come back (by the rule that the
    verdict uses: "pain is back", or the reduction fallen below the recurrence
    threshold), counted from its technique's day."""
    procedure = db.session.get_one(Procedure, assessment.procedure_id)
    return _pain_back(assessment.referral, assessment, procedure)


def _pain_back(referral: Referral, assessment: Assessment, procedure: Procedure) -> bool:
    technique = procedure.technique
    return pain_back(
        referral.nrs_average,
        assessment.nrs_average,
        assessment.pain_is_back,
        procedure.performed_on,
        assessment.assessed_on,
        technique.counts_from_day,
        technique.recurrence_pct,
    )


def _follow_status(
    referral: Referral, assessment: Assessment, procedure: Procedure, by: User | None
) -> None:
    if referral.status is CaseStatus.TREATED:
        case_services.change_status(referral, CaseStatus.FOLLOW_UP, by=by)
    elif referral.status is CaseStatus.CLOSED and _pain_back(referral, assessment, procedure):
        # A closed case is reopened by an assessment reporting recurrence.
        case_services.change_status(referral, CaseStatus.FOLLOW_UP, by=by)


def planned_for(procedure: Procedure) -> list[FollowUp]:
    return list(
        db.session.scalars(
            select(FollowUp)
            .where(FollowUp.procedure_id == procedure.id, FollowUp.status == FollowUpStatus.PLANNED)
            .order_by(FollowUp.due_on)
        )
    )


def mark_missed(followup: FollowUp, *, reason: str, by: User) -> None:
    if not can_mark_missed(by, followup):
        raise Forbidden()
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the follow-up could not be done."), "reason")
    if followup.status is not FollowUpStatus.PLANNED:
        raise DomainError(_l("This follow-up has already been done or marked missed."))
    followup.status = FollowUpStatus.MISSED
    followup.missed_reason = reason
    db.session.flush()


def planned_left(referral: Referral) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(FollowUp)
        .where(FollowUp.referral_id == referral.id, FollowUp.status == FollowUpStatus.PLANNED)
    ).scalar_one()


def close_case(referral: Referral, *, by: User) -> None:
    """Close a case whose follow-ups are all done and whose pain has not come back."""
    if not can_close_case(by, referral):
        raise Forbidden()
    if referral.status is not CaseStatus.FOLLOW_UP:
        raise DomainError(_l("Only a case in follow-up can be closed."))
    if planned_left(referral):
        raise DomainError(
            _l("Follow-ups are still planned: record them or mark them missed first.")
        )
    if compute_verdict(referral).recurrence:
        raise DomainError(
            _l("The pain has come back: present the case again rather than close it.")
        )
    case_services.change_status(referral, CaseStatus.CLOSED, by=by)


#: The scores of the referral sheet a follow-up assessment also measures: the
#: new episode's baseline is what the latest assessment measured of them.
BASELINE_SCORES = ("nrs_now", "nrs_average", "nrs_worst", "dn4")


def present_again(
    referral: Referral,
    *,
    reason: str,
    question: str,
    patient_agreed_on: date | None,
    pain_duration_months: int | None,
    by: User,
) -> Referral:
    """A new referral of the same problem (the next episode), prefilled from this
    case and linked to it: its baseline is what the latest assessment measured
    (a score it left empty stays empty, to be measured), its treatments tried
    gain this case's procedures, and its pain duration is today's."""
    if not can_present_again(by, referral):
        raise Forbidden()
    if referral.status not in TREATED_STATUSES:
        raise DomainError(_l("Only a treated case can be presented again."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the case is presented again."), "reason")
    later = db.session.scalar(
        select(Referral.case_number).where(Referral.previous_referral_id == referral.id)
    )
    if later is not None:
        raise DomainError(_l("This case has already been presented again as %(case)s.", case=later))
    details = {name: _copy(getattr(referral, name)) for name in data_fields(ReferralFields)}
    latest = db.session.scalar(
        select(Assessment)
        .where(Assessment.referral_id == referral.id)
        .order_by(*latest_first_sql(Assessment.assessed_on, Assessment.created_at, Assessment.id))
        .limit(1)
    )
    # Without an assessment nothing was measured since the procedure: the old
    # sheet's scores are not today's pain.
    details.update({name: getattr(latest, name, None) for name in BASELINE_SCORES})
    details.update(_treatments_with_procedures(referral, details))
    details.update(
        referrer_id=by.id if referral.referrer_id is None else referral.referrer_id,
        referral_on=local_today(),
        pain_duration_months=pain_duration_months,
        question=(question or "").strip() or None,
        patient_agreed_on=patient_agreed_on,
        urgency=referral.urgency,
    )
    again = case_services.refer_case(referral.patient, details, by=by)
    again.previous_referral_id = referral.id
    again.recurrence_reason = reason
    db.session.flush()
    return again


def _treatments_with_procedures(referral: Referral, details: dict[str, Any]) -> dict[str, Any]:
    """The treatments tried, with "previous interventional procedure" ticked and
    each procedure of ``referral`` written out (technique and date), once."""
    procedures = db.session.scalars(
        select(Procedure)
        .options(joinedload(Procedure.technique))
        .where(Procedure.referral_id == referral.id)
        .order_by(Procedure.performed_on, Procedure.id)
    ).all()
    tried = list(details.get("treatments_tried") or [])
    other = (details.get("treatments_other") or "").strip()
    if not procedures:
        return {"treatments_tried": tried, "treatments_other": other or None}
    if TreatmentTried.PREVIOUS_PROCEDURE.name not in tried:
        tried.append(TreatmentTried.PREVIOUS_PROCEDURE.name)
    lines = [other] if other else []
    for procedure in procedures:
        entry = _(
            "%(technique)s on %(date)s (%(case)s)",
            technique=procedure.technique.name,
            date=format_date(procedure.performed_on, "d MMM y"),
            case=referral.case_number,
        )
        if entry not in other:
            lines.append(entry)
    return {"treatments_tried": tried, "treatments_other": "\n".join(lines)}


def _copy(value: Any) -> Any:
    # Lists (treatments tried) must not be shared between the two cases' rows.
    return list(value) if isinstance(value, list) else value

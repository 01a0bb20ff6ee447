"""Recording decisions, their amendments, procedure plans and procedures performed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from blinker import Namespace
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update

from tracker.auth.models import User
from tracker.cases import services as case_services
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus, case_date_problem
from tracker.catalogue.models import Technique
from tracker.core.audit_trail import changes_since
from tracker.core.errors import DomainError, Forbidden
from tracker.core.fields import assign
from tracker.core.locking import EditConflict, check_version
from tracker.core.time import local_today, to_local, utcnow
from tracker.decisions.forms import DecisionFields, PlanFields, ProcedureFields
from tracker.decisions.models import (
    PREREQUISITES,
    AdverseEvent,
    Decision,
    DecisionAmendment,
    DecisionStatus,
    NotCarriedOut,
    Outcome,
    PatientAnswer,
    Procedure,
    ProcedurePlan,
)
from tracker.decisions.permissions import (
    can_add_adverse_event,
    can_amend,
    can_edit_plan,
    can_record_decision,
    can_record_not_carried_out,
    can_record_patient_answer,
    can_record_procedure,
    can_tick_prerequisite,
    can_validate,
)
from tracker.decisions.rules import (
    AMENDABLE,
    CONSENT,
    STATUS_AFTER,
    check_cirse_grade,
    check_not_carried_out,
    check_plan,
    check_prerequisites,
    check_procedure,
    check_validation,
)
from tracker.decisions.settings import CONSENT_REQUIRED
from tracker.extensions import db
from tracker.meetings import services as meeting_services
from tracker.meetings.models import AgendaItem, ItemState, Meeting, MeetingStatus
from tracker.web.permissions import Role

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

logger = logging.getLogger(__name__)

signals = Namespace()
#: Sent after a procedure is recorded (sender: the procedure), so that its
#: follow-up schedule can be created.
procedure_recorded = signals.signal("procedure-recorded")
#: Sent after an adverse event is added to a procedure (sender: the procedure).
adverse_event_recorded = signals.signal("adverse-event-recorded")


def decision_for(item: AgendaItem) -> Decision | None:
    return db.session.scalar(select(Decision).where(Decision.agenda_item_id == item.id))


def _check_active_technique(technique_id: int | None, current: int | None = None) -> None:
    if technique_id is None or technique_id == current:
        return
    technique = db.session.get(Technique, technique_id)
    if technique is None or technique.is_retired:
        raise DomainError(_l("Choose a technique from the list."), "technique_id")


def _apply_plan(decision: Decision, plan_values: dict[str, Any] | None) -> None:
    if decision.outcome is not Outcome.PROCEDURE_PROPOSED or plan_values is None:
        return
    plan = decision.plan
    _check_active_technique(plan_values.get("technique_id"), plan.technique_id if plan else None)
    if (plan_values.get("distance_mm") or 0) < 0:
        raise DomainError(_l("This value cannot be negative."), "distance_mm")
    if plan is None:
        plan = ProcedurePlan(decision=decision, referral_id=decision.referral_id)
        db.session.add(plan)
    assign(plan, plan_values, PlanFields)


class DraftConflict(EditConflict):
    """Someone saved the decision after this editor opened it."""

    default_message = _l(
        "Someone else saved this decision while you were typing. What you typed is "
        "not saved yet: check what they changed below, then save again."
    )


def save_draft(
    item: AgendaItem,
    values: dict[str, Any],
    plan_values: dict[str, Any] | None,
    *,
    by: User,
    expected_version: int | None = None,
) -> Decision:
    """Create or update the draft decision of an agenda line.

    Saving a draft means the case came up at the meeting: it is marked
    discussed, so that holding the meeting does not carry it over.
    ``expected_version`` is the version the editor's form was made from (0
    for a decision not yet saved): if someone saved since, nothing is written
    and ``DraftConflict`` lists their changes.
    """
    if not can_record_decision(by, item.meeting):
        raise Forbidden()
    decision = decision_for(item)
    if decision is not None and decision.is_validated:
        raise DomainError(
            _l("This decision is validated: correct it with an amendment and its reason.")
        )
    current = decision.version if decision is not None else 0
    if expected_version is not None and expected_version != current:
        changes = []
        if decision is not None:
            plan = ("ProcedurePlan", decision.plan.id) if decision.plan else None
            changes = changes_since("Decision", decision.id, expected_version, related=plan)
        raise DraftConflict(changes)
    if item.state is ItemState.PENDING:
        meeting_services.mark_discussed(item, by=by)
    elif item.state is not ItemState.DISCUSSED:
        raise DomainError(_l("This case is no longer on this agenda."))
    if decision is None:
        decision = Decision(
            referral_id=item.referral_id,
            meeting_id=item.meeting_id,
            agenda_item_id=item.id,
            recorded_by_id=by.id,
        )
        db.session.add(decision)
    assign(decision, values, DecisionFields)
    _apply_plan(decision, plan_values)
    # Every save moves the version on, even one that changed only the plan.
    decision.draft_saved_at = utcnow()
    decision.draft_saved_by_id = by.id
    db.session.flush()
    return decision


def participants_now(decision: Decision) -> list[dict[str, Any]]:
    """Who takes part in the decision as the attendance stands (frozen on the
    decision when it is validated)."""
    rows = decision.meeting.attendance
    return [
        {
            "user_id": row.user_id,
            "name": row.name,
            "specialty": row.specialty.name,
            "roles": sorted(role.name for role in row.user.roles) if row.user else [],
            "form_of_address": row.user.form_of_address.name if row.user else None,
            "guest": row.is_guest,
        }
        for row in sorted(rows, key=lambda row: (row.is_guest, row.name))
    ]


def check_ready(decision: Decision, *, by: User) -> None:
    """Why ``by`` cannot validate the decision as it stands (raises), or nothing:
    asked before the chair is shown the confirmation, and again on validating."""
    if not can_validate(by, decision):
        raise Forbidden(_l("Only the chair of the meeting validates its decisions."))
    if decision.is_validated:
        raise DomainError(_l("This decision is already validated."))
    meeting = decision.meeting
    check_validation(
        outcome=decision.outcome,
        reasons=decision.reasons,
        quorum_met=meeting_services.meeting_quorum(meeting).is_met,
        plan=decision.plan,
        attendance_validated=meeting.attendance_validated_at is not None,
    )


def validate(decision: Decision, *, by: User, expected_version: int | None = None) -> None:
    """The chair validates: the decision is locked and the case moves on.

    ``expected_version`` is the version the chair confirmed: if the draft was
    saved again since, nothing is validated (they would sign what they did not read).
    """
    check_ready(decision, by=by)
    if expected_version is not None and expected_version != decision.version:
        raise DomainError(
            _l("The draft was changed since you read it: read it again before validating.")
        )
    quorum = meeting_services.meeting_quorum(decision.meeting)
    decision.status = DecisionStatus.VALIDATED
    decision.validated_at = utcnow()
    decision.validated_by_id = by.id
    decision.participants = participants_now(decision)
    decision.quorum_met = quorum.is_met
    if decision.outcome is not Outcome.PROCEDURE_PROPOSED and decision.plan is not None:
        db.session.delete(decision.plan)
    db.session.flush()
    _move_case(decision, by)


def where_the_case_goes(decision: Decision) -> tuple[CaseStatus | None, Meeting | None]:
    """What validating the decision does to its case, as ``_move_case`` will do
    it: the status it takes, or, when postponed, the meeting it goes to (None:
    back to the waiting list)."""
    target = STATUS_AFTER.get(decision.outcome) if decision.outcome else None
    if decision.outcome is Outcome.POSTPONED:
        return None, meeting_services.next_meeting_with_room(decision.meeting)
    return target, None


def _move_case(decision: Decision, by: User) -> None:
    referral = decision.referral
    target = STATUS_AFTER[decision.outcome]  # type: ignore[index]  # validated: has one
    if target is None:
        # Postponed: presented again at the next meeting with room, or waiting.
        following = meeting_services.next_meeting_with_room(decision.meeting)
        if following is not None:
            meeting_services.carry_over(following, referral, by=by)
        else:
            case_services.change_status(referral, CaseStatus.REFERRED, by=by)
    elif target is not referral.status:
        case_services.change_status(referral, target, by=by)


def amend(
    decision: Decision, changes: dict[str, Any], *, reason: str, by: User
) -> DecisionAmendment:
    """Correct a validated decision; the amendment keeps the old values and why."""
    if not can_amend(by, decision):
        raise Forbidden()
    if not decision.is_validated:
        raise DomainError(_l("A draft is edited directly; only validated decisions are amended."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Say why the decision is corrected."), "reason")
    recorded = {}
    for name, value in changes.items():
        if name not in AMENDABLE:
            raise DomainError(_l("This part of a decision cannot be amended."))
        old = getattr(decision, name)
        if old != value:
            recorded[name] = [old, value]
            setattr(decision, name, value)
    if not recorded:
        raise DomainError(_l("Nothing was changed."), "reason")
    if not (decision.reasons or "").strip():
        raise DomainError(_l("Give the reasons for the decision."), "reasons")
    amendment = DecisionAmendment(
        decision=decision, amended_by_id=by.id, reason=reason, changes=recorded
    )
    db.session.add(amendment)
    db.session.flush()
    return amendment


def record_patient_answer(
    decision: Decision,
    *,
    informed_on: Any,
    informed_by_id: int | None,
    answer: PatientAnswer,
    consent_signed: bool | None = None,
    by: User,
) -> None:
    """The proposal was explained to the patient, who accepts, refuses or wants time.

    When a procedure is planned and its consent box is still empty, a patient
    who accepts is asked about the informed consent (``consent_signed``): yes
    ticks the plan's consent on the day they were informed, no leaves it to
    collect. A refusal withdraws a consent recorded before.
    """
    if not can_record_patient_answer(by, decision):
        raise Forbidden()
    if not decision.is_validated:
        raise DomainError(_l("The patient is informed of a validated decision."))
    if informed_on is None:
        raise DomainError(_l("Give the date the patient was informed."), "informed_on")
    if informed_on > local_today():
        raise DomainError(_l("This date is in the future."), "informed_on")
    if informed_on < to_local(decision.validated_at).date():  # type: ignore[arg-type]  # validated
        raise DomainError(_l("The patient is informed after the decision."), "informed_on")
    plan = decision.plan
    asks_consent = plan is not None and plan.consent_on is None
    if consent_signed and answer is not PatientAnswer.ACCEPTS:
        raise DomainError(
            _l("A consent is recorded only when the patient accepts."), "consent_signed"
        )
    if asks_consent and answer is PatientAnswer.ACCEPTS and consent_signed is None:
        raise DomainError(
            _l("The patient accepts: say whether they signed the informed consent."),
            "consent_signed",
        )
    decision.informed_on = informed_on
    decision.informed_by_id = informed_by_id
    decision.patient_answer = answer
    if plan is not None:
        if asks_consent and answer is PatientAnswer.ACCEPTS and consent_signed:
            set_prerequisite(plan, CONSENT, informed_on, by=by)
        elif answer is PatientAnswer.REFUSES and plan.consent_on is not None:
            set_prerequisite(plan, CONSENT, None, by=by)
    db.session.flush()
    referral = decision.referral
    if answer is PatientAnswer.REFUSES and referral.status is CaseStatus.PLANNED:
        case_services.change_status(referral, CaseStatus.CLOSED, by=by)


def update_plan(
    plan: ProcedurePlan,
    values: dict[str, Any],
    *,
    by: User,
    expected_version: int | None = None,
) -> None:
    if not can_edit_plan(by, plan):
        raise Forbidden()
    check_version(plan, expected_version)
    if plan.decision.referral.status is not CaseStatus.PLANNED:
        raise DomainError(_l("The plan can no longer change: the case is not waiting for it."))
    _check_active_technique(values.get("technique_id"), plan.technique_id)
    assign(plan, values, PlanFields)
    check_plan(plan)
    if (plan.distance_mm or 0) < 0:
        raise DomainError(_l("This value cannot be negative."), "distance_mm")
    db.session.flush()


def set_prerequisite(plan: ProcedurePlan, name: str, done_on: Any, *, by: User) -> None:
    """Tick (with the date) or untick one item of the checklist."""
    if not can_tick_prerequisite(by, plan):
        raise Forbidden()
    if name not in dict(PREREQUISITES):
        raise DomainError(_l("Unknown prerequisite."))
    if done_on is not None:
        # Consent and the other items are dates of the case: plausible ones.
        referral = db.session.get(Referral, plan.referral_id)
        birth_on = referral.patient.birth_on if referral is not None else None
        problem = case_date_problem(done_on, local_today(), birth_on)
        if problem:
            raise DomainError(problem, name)
    setattr(plan, name, done_on)
    db.session.flush()


def decided_on(decision: Decision) -> Any:
    return to_local(decision.validated_at or decision.meeting.starts_at).date()


def record_procedure(
    plan: ProcedurePlan,
    values: dict[str, Any],
    *,
    operator_ids: list[int],
    adverse_event: dict[str, Any] | None = None,
    prerequisites: dict[str, tuple[Any, str | None]] | None = None,
    by: User,
    **followup: Any,
) -> Procedure:
    """Record the procedure performed; the case becomes "treated".

    ``prerequisites`` answers, for each item still unticked on the plan, the
    date it was done (ticked then) or why it was not (``check_prerequisites``).
    """
    if not can_record_procedure(by, plan):
        raise Forbidden()
    referral = plan.decision.referral
    if referral.status is not CaseStatus.PLANNED:
        raise DomainError(_l("This case is not waiting for a procedure."))
    check_procedure(
        values,
        decided_on=decided_on(plan.decision),
        today=local_today(),
        planned_technique_id=plan.technique_id,
    )
    _check_active_technique(values["technique_id"], plan.technique_id)
    done, not_done = check_prerequisites(
        [name for name, _label in PREREQUISITES if getattr(plan, name) is None],
        prerequisites or {},
        performed_on=values.get("performed_on"),
        today=local_today(),
        consent_required=bool(CONSENT_REQUIRED.value),
    )
    operators = list(db.session.scalars(select(User).where(User.id.in_(operator_ids or []))))
    if not operators or len(operators) != len(set(operator_ids)):
        raise DomainError(_l("Choose who performed the procedure."), "operator_ids")
    if any(not user.has_role(Role.RADIOLOGIST) for user in operators):
        raise DomainError(_l("Operators are radiologists of the team."), "operator_ids")
    for name, done_on in done.items():
        set_prerequisite(plan, name, done_on, by=by)
    procedure = Procedure(
        referral_id=referral.id,
        plan=plan,
        recorded_by_id=by.id,
        operators=operators,
    )
    assign(procedure, values, ProcedureFields)
    if procedure.technique_id == plan.technique_id:
        procedure.deviation_reason = None
    procedure.prerequisites_not_done = not_done
    db.session.add(procedure)
    if adverse_event:
        add_adverse_event(procedure, **adverse_event, by=by)
    db.session.flush()
    case_services.change_status(referral, CaseStatus.TREATED, by=by)
    # Follow-up plans the schedule (``followup`` carries its owner, when chosen).
    procedure_recorded.send(procedure, **followup)
    return procedure


def add_adverse_event(
    procedure: Procedure, *, cirse_grade: Any, description: str, by: User
) -> AdverseEvent:
    if not can_add_adverse_event(by, procedure):
        raise Forbidden()
    check_cirse_grade(cirse_grade)
    description = (description or "").strip()
    if not description:
        raise DomainError(_l("Describe the adverse event."), "description")
    event = AdverseEvent(cirse_grade=cirse_grade, description=description)
    procedure.adverse_events.append(event)
    db.session.flush()
    adverse_event_recorded.send(procedure)
    return event


def record_not_carried_out(
    plan: ProcedurePlan,
    *,
    reason: NotCarriedOut | None,
    note: str | None,
    on: Any,
    by: User,
) -> None:
    """The team says the proposed procedure will not be carried out, and why
    (DOMAIN "Decision follow-through"). Recorded again, it replaces the reason."""
    if not can_record_not_carried_out(by, plan):
        raise Forbidden()
    decision = plan.decision
    if not decision.is_validated or decision.outcome is not Outcome.PROCEDURE_PROPOSED:
        raise DomainError(_l("Only a validated proposal of a procedure is followed through."))
    check_not_carried_out(
        reason,
        note,
        on=on,
        decided_on=to_local(decision.validated_at).date(),  # type: ignore[arg-type]  # validated
        today=local_today(),
        status=plan.implementation,
    )
    plan.not_carried_out_reason = reason
    plan.not_carried_out_note = (note or "").strip() or None
    plan.not_carried_out_on = on
    plan.not_carried_out_by_id = by.id
    db.session.flush()


# --- the room ---------------------------------------------------------------------


def open_in_room(item: AgendaItem, *, by: User) -> bool:
    """``by``, who records the meeting's decisions, opened ``item`` in meeting
    mode: those following the meeting from their own screens now see it.

    Where the room is, not clinical data: one conditional statement, written
    only when the case changes, and left out of the audit trail. False when
    nothing changed (the meeting is not running, or already on this case).
    """
    meeting = item.meeting
    if not can_record_decision(by, meeting):
        raise Forbidden()
    if item.state is ItemState.REMOVED:
        return False
    moved = db.session.execute(
        update(Meeting)
        .where(
            Meeting.id == meeting.id,
            Meeting.status == MeetingStatus.IN_PROGRESS,
            or_(Meeting.current_item_id.is_(None), Meeting.current_item_id != item.id),
        )
        .values(current_item_id=item.id)
        .execution_options(synchronize_session=False)
    )
    return bool(cast("CursorResult[Any]", moved).rowcount)

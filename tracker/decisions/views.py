"""Meeting mode, the decision sheet (page and PDF), plans and procedures."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from tracker.auth.services import active_users_with
from tracker.cases.models import Referral
from tracker.cases.permissions import TEAM
from tracker.cases.rules import CaseStatus
from tracker.cases.sections import CaseAction, CaseFact
from tracker.catalogue.models import Technique
from tracker.catalogue.services import offered_entries
from tracker.core import reads
from tracker.core.afterwards import write_after_response
from tracker.core.audit import AuditAction, record_access
from tracker.core.errors import DomainError, Forbidden
from tracker.core.fields import data_fields
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import local_today, to_local, utcnow
from tracker.decisions import queries, services
from tracker.decisions.asides import asides_for
from tracker.decisions.forms import (
    LABELS,
    AdverseEventForm,
    AmendForm,
    DecisionFields,
    DecisionForm,
    NotCarriedOutForm,
    PatientAnswerForm,
    PlanFields,
    PlanForm,
    PrerequisiteForm,
    ProcedureForm,
)
from tracker.decisions.minutes import plan_line, summary_pdf
from tracker.decisions.models import (
    PREREQUISITES,
    Decision,
    DecisionStatus,
    Outcome,
    PatientAnswer,
    Procedure,
    ProcedurePlan,
)
from tracker.decisions.permissions import (
    EVENT_REPORTERS,
    FOLLOW_THROUGH_RECORDERS,
    OPERATORS,
    PLAN_EDITORS,
    PREREQUISITE_CHECKERS,
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
from tracker.decisions.rules import AMENDABLE, CONSENT, Implementation, implementation, prefill_plan
from tracker.decisions.settings import CONSENT_REQUIRED
from tracker.decisions.sheet import sheet_pdf, sheet_sections
from tracker.extensions import db
from tracker.followups import queries as followup_queries
from tracker.followups.returning import returning_pack, trajectories
from tracker.meetings import queries as meeting_queries
from tracker.meetings import services as meeting_services
from tracker.meetings.models import AgendaItem, ItemState, Meeting, MeetingStatus
from tracker.meetings.permissions import can_validate_attendance, is_chair
from tracker.web.forms import ConfirmForm
from tracker.web.handlers import (
    conflict_of,
    edit_status,
    form_status,
    record_id,
    saved_before,
    saving,
)
from tracker.web.letterhead import letterhead
from tracker.web.permissions import Role, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("decisions", __name__)


def _fill_techniques(form: Any, current_id: int | None = None) -> None:
    form.technique_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(entry.id), entry.name) for entry in offered_entries(Technique, current_id)
    ]


def _form_data(decision: Decision | None) -> dict[str, Any]:
    if decision is None:
        return {}
    data = {name: getattr(decision, name) for name in data_fields(DecisionFields)}
    if decision.plan is not None:
        data.update({name: getattr(decision.plan, name) for name in data_fields(PlanFields)})
    return data


# --- meeting mode -----------------------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/mode", methods=["GET", "POST"])
@require_role(*TEAM)
def meeting_mode(meeting_id: int) -> Any:
    meeting = db.one_or_404(meeting_queries.meeting_page_query(meeting_id))
    agenda = meeting.agenda
    decisions = queries.decisions_of_meeting(meeting)
    wanted = record_id(request.args.get("item"))
    current = next((item for item in agenda if item.id == wanted), None)
    if current is None:
        current = next(
            (item for item in agenda if not _validated(decisions.get(item.id))),
            agenda[0] if agenda else None,
        )
    decision = decisions.get(current.id) if current else None
    recording = meeting.status in (MeetingStatus.IN_PROGRESS, MeetingStatus.HELD)
    can_record = recording and can_record_decision(current_user, meeting)
    data = _form_data(decision)
    if request.method == "GET" and current is not None:
        plan = decision.plan if decision else None
        data = prefill_plan(data, current.referral, plan.technique if plan else None)
    form = DecisionForm(formdata=request.form if request.method == "POST" else None, data=data)
    _fill_techniques(form, decision.plan.technique_id if decision and decision.plan else None)

    conflict = None
    if request.method == "POST":
        if current is None or not can_record or current.state is ItemState.REMOVED:
            abort(403)
        action = request.form.get("action", "save")
        if form.validate_on_submit():
            # The version the form was made from (0: the decision was not saved yet).
            expected = record_id(request.form.get("version")) or 0
            with saving(form) as saved:
                decision = services.save_draft(
                    current,
                    form.decision_values(),
                    form.plan_values(),
                    by=current_user,
                    expected_version=expected,
                )
                if action == "validate":
                    # Saved, and ready: the chair then confirms what they validate.
                    try:
                        services.check_ready(decision, by=current_user)
                    except Forbidden as refusal:
                        # Said on the form, so that what was typed is not lost.
                        raise DomainError(refusal.message) from refusal
            if saved.ok:
                if action == "validate":
                    return redirect(url_for("decisions.validate", decision_id=decision.id))
                flash(_("Draft saved."), "success")
                return redirect(
                    url_for("decisions.meeting_mode", meeting_id=meeting.id, item=current.id)
                )
            if isinstance(saved.error, services.DraftConflict):
                conflict = saved.error
                # The next save is made knowingly over the other person's changes.
                decision = services.decision_for(current)

    if (
        request.method == "GET"
        and current is not None
        and current.id == wanted
        and can_record
        and meeting.status is MeetingStatus.IN_PROGRESS
        and meeting.current_item_id != current.id
    ):
        _follow_me(current.id)
    patient_id = current.referral.patient_id if current else None
    # The patient's earlier episodes: the same queries whatever their history.
    patient_decisions = queries.decisions_of_patient(patient_id) if patient_id else []
    procedures = queries.procedures_of_patient(patient_id) if patient_id else []
    readings = followup_queries.readings_of_patient(patient_id) if patient_id else {}
    drawn = trajectories(procedures, readings)
    pack = (
        returning_pack(
            current.referral, patient_decisions, procedures, readings, local_today(), drawn
        )
        if current
        else None
    )
    if current is not None and request.method == "GET":
        # The case is on the screen, and with it its patient's earlier episodes.
        shown = {"page": "meeting"}
        if pack is not None:
            shown["previous"] = pack.previous.case_number
        record_access(
            AuditAction.VIEW,
            "Referral",
            current.referral.id,
            referral_id=current.referral.id,
            patient_id=patient_id,
            details=shown,
        )
    context = {
        # Beside the plan: what other features know of the technique chosen.
        "asides": asides_for(current.referral, _chosen_technique(form)) if current else [],
        "meeting": meeting,
        "agenda": agenda,
        "decisions": decisions,
        "current": current,
        "decision": decision,
        "form": form,
        "version": decision.version if decision is not None else 0,
        "conflict": conflict,
        "can_record": can_record,
        "can_validate": can_validate(current_user, decision)
        if decision is not None
        else is_chair(current_user, meeting),
        # The chair signs the attendance sheet from here, in one click.
        "can_validate_attendance": recording
        and meeting.attendance_validated_at is None
        and can_validate_attendance(current_user, meeting),
        "confirm": ConfirmForm(),
        "recording": recording,
        "quorum": meeting_services.meeting_quorum(meeting),
        "decided": sum(1 for item in agenda if _validated(decisions.get(item.id))),
        "history": [
            previous
            for previous in patient_decisions
            if previous.id != (decision.id if decision else None) and previous.is_validated
        ],
        "procedures": procedures,
        "trajectories": drawn,
        "pack": pack,
    }
    status = form_status(form) if request.method == "POST" else 200
    return render_template("decisions/meeting_mode.html", **context), status


def _chosen_technique(form: Any) -> Technique | None:
    """The technique the plan names, as typed or saved (the form's choices are
    loaded already: no query)."""
    technique_id = record_id(str(form.technique_id.data or ""))
    return db.session.get(Technique, technique_id) if technique_id else None


def _follow_me(item_id: int) -> None:
    """Those following the meeting see the case just opened (written once the
    page is ready: a page that only reads does not hold the write lock)."""

    def write(response: Response) -> None:
        item = db.session.get(AgendaItem, item_id)
        if response.status_code < 400 and item is not None:
            services.open_in_room(item, by=current_user)

    write_after_response(write)


def _validated(decision: Decision | None) -> bool:
    return decision is not None and decision.status is DecisionStatus.VALIDATED


@bp.route("/decisions/<int:decision_id>/validate", methods=["GET", "POST"])
@require_role(*TEAM)
def validate(decision_id: int) -> Any:
    """The chair reads the decision once more and confirms: validating locks
    the proposal and its reasons (amendments only, with their reason) and
    moves the case on."""
    decision = get_decision_or_404(decision_id)
    if not can_validate(current_user, decision):
        abort(403)
    meeting_mode = url_for(
        "decisions.meeting_mode", meeting_id=decision.meeting_id, item=decision.agenda_item_id
    )
    if decision.is_validated:
        flash(_("This decision is already validated."), "info")
        return redirect(meeting_mode)
    form = ConfirmForm()
    if form.validate_on_submit():
        with saving() as saved:
            services.validate(
                decision,
                by=current_user,
                expected_version=record_id(request.form.get("version")) or 0,
            )
        if saved.ok:
            flash(
                _("Decision for %(case)s validated.", case=decision.referral.case_number),
                "success",
            )
            return redirect(_next_case(decision))
        return redirect(meeting_mode)
    refusal = None
    try:
        services.check_ready(decision, by=current_user)
    except DomainError as error:
        refusal = error.message
    status, following = services.where_the_case_goes(decision)
    return render_template(
        "decisions/validate.html",
        decision=decision,
        form=form,
        refusal=refusal,
        status=status,
        following=following,
        quorum=meeting_services.meeting_quorum(decision.meeting),
        meeting_mode=meeting_mode,
    )


def _next_case(decision: Decision) -> str:
    """Meeting mode on the next case still to decide, or on this one."""
    meeting = db.session.scalars(meeting_queries.meeting_page_query(decision.meeting_id)).one()
    decisions = queries.decisions_of_meeting(meeting)
    following = next(
        (
            item
            for item in meeting.agenda
            if item.id != decision.agenda_item_id and not _validated(decisions.get(item.id))
        ),
        None,
    )
    item_id = following.id if following else decision.agenda_item_id
    return url_for("decisions.meeting_mode", meeting_id=meeting.id, item=item_id)


# --- the decision sheet -----------------------------------------------------------------


def get_decision_or_404(decision_id: int) -> Decision:
    return db.one_or_404(queries.decision_sheet_query(decision_id))


def _record(action: AuditAction, decision: Decision, **details: str) -> None:
    record_access(
        action,
        "Decision",
        decision.id,
        referral_id=decision.referral_id,
        patient_id=decision.referral.patient_id,
        details=details,
    )


@bp.route("/decisions/<int:decision_id>")
@require_role(*TEAM)
def sheet(decision_id: int) -> str:
    decision = get_decision_or_404(decision_id)
    procedures = queries.procedures_of_decision(decision)
    _record(AuditAction.VIEW, decision)
    return render_template(
        "decisions/sheet.html",
        decision=decision,
        sections=sheet_sections(decision, procedures),
        head=letterhead(),
        field_labels=LABELS,
        can_amend=decision.is_validated and can_amend(current_user, decision),
    )


@bp.route("/decisions/<int:decision_id>.pdf")
@require_role(*TEAM)
def sheet_as_pdf(decision_id: int) -> Response:
    decision = get_decision_or_404(decision_id)
    body = sheet_pdf(decision, queries.procedures_of_decision(decision))
    _record(AuditAction.DOWNLOAD, decision, format="pdf")
    response = Response(body, mimetype="application/pdf")
    name = f"fiche-rcp-{decision.referral.case_number}.pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@bp.route("/decisions/<int:decision_id>/amend", methods=["GET", "POST"])
@require_role(*TEAM)
def amend(decision_id: int) -> Any:
    decision = get_decision_or_404(decision_id)
    if not can_amend(current_user, decision):
        abort(403)
    form = AmendForm(obj=decision)
    if form.validate_on_submit():
        sheet = url_for("decisions.sheet", decision_id=decision.id)
        if saved_before(form):
            return redirect(sheet)
        changes = {name: getattr(form, name).data for name in AMENDABLE}
        changes = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in changes.items()}
        with saving(form, aliases={"reason": "amendment_reason"}) as saved:
            amendment = services.amend(
                decision, changes, reason=form.amendment_reason.data, by=current_user
            )
            remember(form.once_key.data, "amendment", amendment.id, user_id=current_user.id)
        if saved.ok:
            flash(_("Amendment recorded."), "success")
            return redirect(sheet)
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(sheet)
    return render_template("decisions/amend.html", form=form, decision=decision), form_status(form)


@bp.route("/decisions/<int:decision_id>/patient", methods=["GET", "POST"])
@require_role(*TEAM)
def patient_answer(decision_id: int) -> Any:
    decision = get_decision_or_404(decision_id)
    if not can_record_patient_answer(current_user, decision):
        abort(403)
    form = PatientAnswerForm(obj=decision)
    form.informed_by_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(*TEAM)
    ]
    if request.method == "GET" and decision.informed_on is None:
        form.informed_on.data = local_today()
        form.informed_by_id.data = current_user.id
    if decision.plan is None or decision.plan.consent_on is not None:
        del form.consent_signed  # nothing to ask: no procedure, or its consent is recorded
    if form.validate_on_submit():
        with saving(form) as saved:
            services.record_patient_answer(
                decision,
                informed_on=form.informed_on.data,
                informed_by_id=form.informed_by_id.data,
                answer=form.patient_answer.data,
                consent_signed=form.consent_signed.data if "consent_signed" in form else None,
                by=current_user,
            )
        if saved.ok:
            flash(_("The patient's answer is recorded."), "success")
            plan = decision.plan
            if (
                plan is not None
                and plan.consent_on is None
                and decision.patient_answer is (PatientAnswer.ACCEPTS)
            ):
                flash(
                    _("The informed consent is still to collect before the procedure."), "warning"
                )
            return redirect(url_for("cases.show", referral_id=decision.referral_id))
    return render_template(
        "decisions/patient_answer.html", form=form, decision=decision
    ), form_status(form)


# --- plans and procedures --------------------------------------------------------------


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@require_role(*PLAN_EDITORS)
def plan_edit(plan_id: int) -> Any:
    plan = db.get_or_404(ProcedurePlan, plan_id)
    if not can_edit_plan(current_user, plan):
        abort(403)
    if request.method == "GET":
        data = {name: getattr(plan, name) for name in data_fields(PlanFields)}
        data = prefill_plan(data, plan.decision.referral, plan.technique)
        form = PlanForm(data={**data, "version": plan.version})
    else:
        form = PlanForm(obj=plan)
    _fill_techniques(form, plan.technique_id)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_plan(
                plan, form.plan_values(), by=current_user, expected_version=form.expected_version()
            )
        if saved.ok:
            flash(_("Plan saved."), "success")
            return redirect(url_for("cases.show", referral_id=plan.referral_id))
        conflict = conflict_of(saved, form, plan)
    asides = asides_for(plan.decision.referral, _chosen_technique(form))
    return render_template(
        "decisions/plan_form.html", form=form, plan=plan, asides=asides, conflict=conflict
    ), edit_status(form, conflict)


@bp.route("/plans/<int:plan_id>/prerequisites/<name>", methods=["POST"])
@require_role(*PREREQUISITE_CHECKERS)
def prerequisite(plan_id: int, name: str) -> Any:
    plan = db.get_or_404(ProcedurePlan, plan_id)
    if name not in dict(PREREQUISITES):
        abort(404)
    if not can_tick_prerequisite(current_user, plan):
        abort(403)
    form = PrerequisiteForm()
    if form.validate_on_submit():
        done_on = (
            None if request.form.get("action") == "undo" else (form.done_on.data or local_today())
        )
        with saving(form):
            services.set_prerequisite(plan, name, done_on, by=current_user)
    else:
        flash(_("Not a valid date."), "danger")
    return redirect(url_for("cases.show", referral_id=plan.referral_id) + "#plan")


@bp.route("/plans/<int:plan_id>/not-carried-out", methods=["GET", "POST"])
@require_role(*FOLLOW_THROUGH_RECORDERS)
def not_carried_out(plan_id: int) -> Any:
    """The team records that a proposed procedure will not be carried out, and why."""
    plan = db.get_or_404(ProcedurePlan, plan_id)
    if not can_record_not_carried_out(current_user, plan):
        abort(403)
    form = NotCarriedOutForm()
    if request.method == "GET":
        form.reason.data = plan.not_carried_out_reason
        form.note.data = plan.not_carried_out_note
        form.on.data = plan.not_carried_out_on or local_today()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.record_not_carried_out(
                plan,
                reason=form.reason.data,
                note=form.note.data,
                on=form.on.data,
                by=current_user,
            )
        if saved.ok:
            flash(_("Recorded: the procedure is not carried out."), "success")
            return redirect(url_for("cases.show", referral_id=plan.referral_id) + "#plan")
    return render_template("decisions/not_carried_out.html", form=form, plan=plan), form_status(
        form
    )


@bp.route("/plans/<int:plan_id>/procedure", methods=["GET", "POST"])
@require_role(*OPERATORS)
def procedure_new(plan_id: int) -> Any:
    plan = db.get_or_404(ProcedurePlan, plan_id)
    if not can_record_procedure(current_user, plan):
        abort(403)
    form = ProcedureForm()
    _fill_techniques(form, plan.technique_id)
    form.operator_ids.choices = [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(Role.RADIOLOGIST)
    ]
    form.followup_owner_id.choices = [SelectChoice("", _("Nobody yet: the team queue"))] + [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(Role.CLINICIAN)
    ]
    if request.method == "GET":
        form.technique_id.data = plan.technique_id
        form.target.data = plan.target
        form.distance_mm.data = plan.distance_mm
        form.performed_on.data = local_today()
        form.operator_ids.data = [current_user.id]
        referrer = plan.decision.referral.referrer
        if referrer is not None and referrer.has_role(Role.CLINICIAN):
            form.followup_owner_id.data = referrer.id
    if form.validate_on_submit():
        case = url_for("cases.show", referral_id=plan.decision.referral_id)
        if saved_before(form):
            return redirect(case)
        with saving(
            form, aliases={"cirse_grade": "ae_grade", "description": "ae_description"}
        ) as saved:
            procedure = services.record_procedure(
                plan,
                form.values(),
                operator_ids=form.operator_ids.data,
                adverse_event=form.adverse_event(),
                prerequisites=form.prerequisite_answers(),
                by=current_user,
                followup_owner_id=form.followup_owner_id.data,
            )
            remember(form.once_key.data, "procedure", procedure.id, user_id=current_user.id)
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(case)
        if saved.ok:
            flash(_("Procedure recorded."), "success")
            if CONSENT in procedure.prerequisites_not_done:
                flash(
                    _(
                        "Recorded without the patient's consent: %(reason)s",
                        reason=procedure.prerequisites_not_done[CONSENT],
                    ),
                    "warning",
                )
            return redirect(url_for("cases.show", referral_id=procedure.referral_id))
    # Asked of the items still unticked on the plan.
    pending = [name for name, _label in PREREQUISITES if getattr(plan, name) is None]
    return render_template(
        "decisions/procedure_form.html",
        form=form,
        plan=plan,
        pending=form.prerequisite_fields(pending),
        consent_required=bool(CONSENT_REQUIRED.value),
    ), form_status(form)


@bp.route("/procedures/<int:procedure_id>/adverse-events", methods=["GET", "POST"])
@require_role(*EVENT_REPORTERS)
@shows_no_patient_data
def adverse_event(procedure_id: int) -> Any:
    procedure = db.get_or_404(Procedure, procedure_id)
    if not can_add_adverse_event(current_user, procedure):
        abort(403)
    form = AdverseEventForm()
    if form.validate_on_submit():
        case = url_for("cases.show", referral_id=procedure.referral_id)
        if saved_before(form):
            return redirect(case)
        with saving(form) as saved:
            event = services.add_adverse_event(
                procedure,
                cirse_grade=form.cirse_grade.data,
                description=form.description.data,
                by=current_user,
            )
            remember(form.once_key.data, "adverse_event", event.id, user_id=current_user.id)
        if saved.ok:
            flash(_("Adverse event recorded."), "success")
            return redirect(case)
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(case)
    return render_template(
        "decisions/adverse_event.html", form=form, procedure=procedure
    ), form_status(form)


# --- on the case page ---------------------------------------------------------------


def case_section(referral: Referral) -> dict[str, Any]:
    decisions = queries.case_decisions(referral.id)
    procedures = queries.case_procedures(referral.id)
    plan = next((d.plan for d in decisions if d.plan is not None and d.is_validated), None)
    followed_by = sorted(
        (p for p in procedures if plan is not None and p.plan_id == plan.id),
        key=lambda p: (p.performed_on, p.id),
    )
    status = (
        None
        if plan is None or plan.decision.outcome is not Outcome.PROCEDURE_PROPOSED
        else implementation(
            plan.technique_id,
            followed_by[0].technique_id if followed_by else None,
            plan.not_carried_out_reason,
        )
    )
    may_say_not_done = (
        status in (Implementation.PENDING, Implementation.NOT_CARRIED_OUT)
        and plan is not None
        and can_record_not_carried_out(current_user, plan)
    )
    not_done_form = NotCarriedOutForm(formdata=None, obj=None) if may_say_not_done else None
    if not_done_form is not None and plan is not None:
        not_done_form.reason.data = plan.not_carried_out_reason
        not_done_form.note.data = plan.not_carried_out_note
        not_done_form.on.data = plan.not_carried_out_on or local_today()
    return {
        "implementation": status,
        "not_done_form": not_done_form,
        "decisions": decisions,
        "plan": plan,
        "procedures": procedures,
        "awaiting_procedure": plan is not None and referral.status is CaseStatus.PLANNED,
        "can_tick_prerequisite": plan is not None and can_tick_prerequisite(current_user, plan),
        "can_edit_plan": plan is not None and can_edit_plan(current_user, plan),
        "can_record_procedure": plan is not None and can_record_procedure(current_user, plan),
        "may_report_event": {p.id for p in procedures if can_add_adverse_event(current_user, p)},
        "prerequisite_form": PrerequisiteForm(),
        "confirm": ConfirmForm(),
    }


def case_summary(referral: Referral, ctx: dict[str, Any]) -> list[CaseAction | CaseFact]:
    """The decision, the plan and the procedure in a few words, and what comes next."""
    said: list[CaseAction | CaseFact] = []
    decisions: list[Decision] = ctx["decisions"]
    validated = next((d for d in decisions if d.is_validated), None)
    if validated is not None and validated.outcome is not None:
        said.append(
            CaseFact(
                _("Decision"),
                _(
                    "%(outcome)s (meeting of %(date)s)",
                    outcome=validated.outcome.label,
                    date=format_date(to_local(validated.meeting.starts_at).date(), "d MMM y"),
                ),
                20,
                link=url_for("decisions.sheet", decision_id=validated.id),
            )
        )
    draft = next((d for d in decisions if not d.is_validated), None)
    if draft is not None and (validated is None or draft.created_at > validated.created_at):
        said.append(
            CaseFact(
                _("Decision"),
                _("draft, not validated yet"),
                21,
                link=url_for("decisions.sheet", decision_id=draft.id),
                tone="warning",
            )
        )
        if can_validate(current_user, draft):
            said.append(
                CaseAction(
                    _("Validate the decision"),
                    url_for("decisions.validate", decision_id=draft.id),
                    20,
                )
            )
    plan = ctx["plan"]
    if plan is not None and ctx["awaiting_procedure"]:
        technique = plan.technique.name if plan.technique else "—"
        said.append(
            CaseFact(
                _("Planned procedure"),
                _(
                    "%(technique)s, target date %(date)s",
                    technique=technique,
                    date=format_date(plan.target_on, "d MMM y"),
                )
                if plan.target_on
                else technique,
                30,
                link=url_for("cases.show", referral_id=referral.id, _anchor="plan"),
            )
        )
        if ctx["can_record_procedure"]:
            said.append(
                CaseAction(
                    _("Record the procedure"),
                    url_for("decisions.procedure_new", plan_id=plan.id),
                    30,
                )
            )
    if ctx["implementation"] is Implementation.NOT_CARRIED_OUT and plan is not None:
        said.append(
            CaseFact(
                _("Follow-through"),
                ctx["implementation"].label,
                31,
                link=url_for("cases.show", referral_id=referral.id, _anchor="follow-through"),
                tone="danger",
            )
        )
    procedures = ctx["procedures"]
    if procedures:
        last = procedures[0]
        said.append(
            CaseFact(
                _("Last procedure"),
                _(
                    "%(technique)s on %(date)s",
                    technique=last.technique.name,
                    date=format_date(last.performed_on, "d MMM y"),
                ),
                35,
                link=url_for("cases.show", referral_id=referral.id, _anchor="decisions"),
            )
        )
    return said


# --- after and around the meeting -------------------------------------------------


@bp.route("/meetings/<int:meeting_id>/summary.pdf")
@require_role(*TEAM)
def meeting_summary(meeting_id: int) -> Response:
    """The meeting on one page (PDF): who was there, what was decided."""
    meeting = db.one_or_404(meeting_queries.meeting_page_query(meeting_id))
    body = summary_pdf(meeting)
    # Case numbers identify the patients of the agenda.
    record_access(AuditAction.DOWNLOAD, "Meeting", meeting.id, details={"format": "pdf"})
    response = Response(body, mimetype="application/pdf")
    day = to_local(meeting.starts_at).date().isoformat()
    response.headers["Content-Disposition"] = f'inline; filename="synthese-rcp-{day}.pdf"'
    return response


def _follow_context(meeting: Meeting) -> dict[str, Any]:
    """What those following the meeting see: the case the room is on, the
    agenda, the decisions validated so far. The case newly shown (one the
    page did not show yet, ``seen``) is recorded as opened."""
    agenda = meeting.agenda
    decisions = queries.decisions_of_meeting(meeting)
    current = next((item for item in agenda if item.id == meeting.current_item_id), None)
    if meeting.status is not MeetingStatus.IN_PROGRESS:
        current = None
    if current is not None and record_id(request.args.get("seen")) == current.id:
        # Fetched again every few seconds: what it shows was recorded when it
        # first showed it.
        reads.already_recorded()
    elif current is not None:
        record_access(
            AuditAction.VIEW,
            "Referral",
            current.referral_id,
            referral_id=current.referral_id,
            patient_id=current.referral.patient_id,
            details={"view": "follow"},
        )
    validated = [
        (item, decisions[item.id]) for item in agenda if _validated(decisions.get(item.id))
    ]
    return {
        "meeting": meeting,
        "agenda": agenda,
        "decisions": decisions,
        "current": current,
        "decision": decisions.get(current.id) if current else None,
        "validated": [(item, decision, plan_line(decision)) for item, decision in validated],
        "quorum": meeting_services.meeting_quorum(meeting),
        "updated": format_datetime(utcnow(), "HH:mm:ss"),
    }


@bp.route("/meetings/<int:meeting_id>/follow")
@require_role(*TEAM)
def follow(meeting_id: int) -> str:
    """The meeting as the room sees it, read-only, for the team's own screens."""
    meeting = db.one_or_404(meeting_queries.meeting_page_query(meeting_id))
    return render_template("decisions/follow.html", **_follow_context(meeting))


@bp.route("/meetings/<int:meeting_id>/follow/live")
@require_role(*TEAM)
def follow_live(meeting_id: int) -> str:
    """The part of the follow page that changes, fetched again every few seconds."""
    meeting = db.one_or_404(meeting_queries.meeting_page_query(meeting_id))
    return render_template("decisions/_follow_live.html", **_follow_context(meeting))

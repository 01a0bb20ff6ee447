"""Meeting mode, the decision sheet (page and PDF), plans and procedures."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from tracker.auth.services import active_users_with
from tracker.cases.models import Referral
from tracker.cases.rules import CaseStatus
from tracker.cases.sections import case_section
from tracker.catalogue.models import Technique
from tracker.catalogue.services import offered_entries
from tracker.core.audit import AuditAction, record_access
from tracker.core.audit_trail import register_field_labels
from tracker.core.fields import data_fields
from tracker.core.forms import ConfirmForm
from tracker.core.handlers import form_status, record_id, saving
from tracker.core.permissions import Role, require_role
from tracker.core.time import local_today
from tracker.decisions import queries, services
from tracker.decisions import timeline as _timeline  # noqa: F401 (registers events)
from tracker.decisions.forms import (
    LABELS,
    AdverseEventForm,
    AmendForm,
    DecisionFields,
    DecisionForm,
    PatientAnswerForm,
    PlanFields,
    PlanForm,
    PrerequisiteForm,
    ProcedureForm,
)
from tracker.decisions.models import (
    PREREQUISITES,
    Decision,
    DecisionStatus,
    Procedure,
    ProcedurePlan,
)
from tracker.decisions.rules import AMENDABLE
from tracker.decisions.sheet import sheet_pdf, sheet_sections
from tracker.extensions import db
from tracker.meetings import queries as meeting_queries
from tracker.meetings import services as meeting_services
from tracker.meetings.models import ItemState, Meeting, MeetingStatus

logger = logging.getLogger(__name__)

bp = Blueprint("decisions", __name__)

register_field_labels("Decision", DecisionForm, LABELS)
register_field_labels("ProcedurePlan", PlanForm)
register_field_labels("Procedure", ProcedureForm)
register_field_labels("AdverseEvent", AdverseEventForm)

TEAM = (Role.COORDINATOR, Role.RADIOLOGIST, Role.CLINICIAN)


def may_record(user: Any, meeting: Meeting) -> bool:
    """Who types decisions during the meeting: coordinators, radiologists, the chair."""
    return user.has_role(Role.COORDINATOR, Role.RADIOLOGIST) or meeting.chair_id == user.id


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
    meeting = meeting_queries.meeting_page(meeting_id)
    if meeting is None:
        abort(404)
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
    can_record = recording and may_record(current_user, meeting)
    form = DecisionForm(
        formdata=request.form if request.method == "POST" else None, data=_form_data(decision)
    )
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
                    services.validate(decision, by=current_user)
            if saved.ok:
                if action == "validate":
                    flash(
                        _("Decision for %(case)s validated.", case=current.referral.case_number),
                        "success",
                    )
                    following = next(
                        (
                            item
                            for item in agenda
                            if item.id != current.id and not _validated(decisions.get(item.id))
                        ),
                        None,
                    )
                    target = following or current
                else:
                    flash(_("Draft saved."), "success")
                    target = current
                return redirect(
                    url_for("decisions.meeting_mode", meeting_id=meeting.id, item=target.id)
                )
            if isinstance(saved.error, services.DraftConflict):
                conflict = saved.error
                # The next save is made knowingly over the other person's changes.
                decision = services.decision_for(current)

    patient_id = current.referral.patient_id if current else None
    context = {
        "meeting": meeting,
        "agenda": agenda,
        "decisions": decisions,
        "current": current,
        "decision": decision,
        "form": form,
        "version": decision.version if decision is not None else 0,
        "conflict": conflict,
        "can_record": can_record,
        "is_chair": meeting.chair_id == current_user.id,
        "recording": recording,
        "quorum": meeting_services.meeting_quorum(meeting),
        "decided": sum(1 for item in agenda if _validated(decisions.get(item.id))),
        "history": [
            previous
            for previous in (queries.decisions_of_patient(patient_id) if patient_id else [])
            if previous.id != (decision.id if decision else None) and previous.is_validated
        ],
        "procedures": queries.procedures_of_patient(patient_id) if patient_id else [],
    }
    status = form_status(form) if request.method == "POST" else 200
    return render_template("decisions/meeting_mode.html", **context), status


def _validated(decision: Decision | None) -> bool:
    return decision is not None and decision.status is DecisionStatus.VALIDATED


# --- the decision sheet -----------------------------------------------------------------


def get_decision_or_404(decision_id: int) -> Decision:
    decision = queries.decision_sheet(decision_id)
    if decision is None:
        abort(404)
    return decision


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
        field_labels=LABELS,
        can_amend=decision.is_validated and may_record(current_user, decision.meeting),
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
    if not may_record(current_user, decision.meeting):
        abort(403)
    form = AmendForm(obj=decision)
    if form.validate_on_submit():
        changes = {name: getattr(form, name).data for name in AMENDABLE}
        changes = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in changes.items()}
        with saving(form, aliases={"reason": "amendment_reason"}) as saved:
            services.amend(decision, changes, reason=form.amendment_reason.data, by=current_user)
        if saved.ok:
            flash(_("Amendment recorded."), "success")
            return redirect(url_for("decisions.sheet", decision_id=decision.id))
    return render_template("decisions/amend.html", form=form, decision=decision), form_status(form)


@bp.route("/decisions/<int:decision_id>/patient", methods=["GET", "POST"])
@require_role(*TEAM)
def patient_answer(decision_id: int) -> Any:
    decision = get_decision_or_404(decision_id)
    form = PatientAnswerForm(obj=decision)
    form.informed_by_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(*TEAM)
    ]
    if request.method == "GET" and decision.informed_on is None:
        form.informed_on.data = local_today()
        form.informed_by_id.data = current_user.id
    if form.validate_on_submit():
        with saving(form) as saved:
            services.record_patient_answer(
                decision,
                informed_on=form.informed_on.data,
                informed_by_id=form.informed_by_id.data,
                answer=form.patient_answer.data,
                by=current_user,
            )
        if saved.ok:
            flash(_("The patient's answer is recorded."), "success")
            return redirect(url_for("cases.show", referral_id=decision.referral_id))
    return render_template(
        "decisions/patient_answer.html", form=form, decision=decision
    ), form_status(form)


# --- plans and procedures --------------------------------------------------------------


def get_plan_or_404(plan_id: int) -> ProcedurePlan:
    plan = db.session.get(ProcedurePlan, plan_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@require_role(Role.RADIOLOGIST, Role.COORDINATOR)
def plan_edit(plan_id: int) -> Any:
    plan = get_plan_or_404(plan_id)
    form = PlanForm(obj=plan)
    _fill_techniques(form, plan.technique_id)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_plan(plan, form.plan_values())
        if saved.ok:
            flash(_("Plan saved."), "success")
            return redirect(url_for("cases.show", referral_id=plan.referral_id))
    return render_template("decisions/plan_form.html", form=form, plan=plan), form_status(form)


@bp.route("/plans/<int:plan_id>/prerequisites/<name>", methods=["POST"])
@require_role(Role.RADIOLOGIST, Role.COORDINATOR, Role.CLINICIAN)
def prerequisite(plan_id: int, name: str) -> Any:
    plan = get_plan_or_404(plan_id)
    if name not in dict(PREREQUISITES):
        abort(404)
    form = PrerequisiteForm()
    if form.validate_on_submit():
        done_on = (
            None if request.form.get("action") == "undo" else (form.done_on.data or local_today())
        )
        with saving(form):
            services.set_prerequisite(plan, name, done_on)
    else:
        flash(_("Not a valid date."), "danger")
    return redirect(url_for("cases.show", referral_id=plan.referral_id) + "#plan")


@bp.route("/plans/<int:plan_id>/procedure", methods=["GET", "POST"])
@require_role(Role.RADIOLOGIST)
def procedure_new(plan_id: int) -> Any:
    plan = get_plan_or_404(plan_id)
    form = ProcedureForm()
    _fill_techniques(form, plan.technique_id)
    form.operator_ids.choices = [
        SelectChoice(str(user.id), user.full_name) for user in active_users_with(Role.RADIOLOGIST)
    ]
    if request.method == "GET":
        form.technique_id.data = plan.technique_id
        form.target.data = plan.target
        form.distance_mm.data = plan.distance_mm
        form.performed_on.data = local_today()
        form.operator_ids.data = [current_user.id]
    if form.validate_on_submit():
        with saving(
            form, aliases={"cirse_grade": "ae_grade", "description": "ae_description"}
        ) as saved:
            procedure = services.record_procedure(
                plan,
                form.values(),
                operator_ids=form.operator_ids.data,
                adverse_event=form.adverse_event(),
                by=current_user,
            )
        if saved.ok:
            flash(_("Procedure recorded."), "success")
            return redirect(url_for("cases.show", referral_id=procedure.referral_id))
    return render_template("decisions/procedure_form.html", form=form, plan=plan), form_status(form)


@bp.route("/procedures/<int:procedure_id>/adverse-events", methods=["GET", "POST"])
@require_role(Role.RADIOLOGIST, Role.CLINICIAN)
def adverse_event(procedure_id: int) -> Any:
    procedure = db.session.get(Procedure, procedure_id)
    if procedure is None:
        abort(404)
    form = AdverseEventForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.add_adverse_event(
                procedure, cirse_grade=form.cirse_grade.data, description=form.description.data
            )
        if saved.ok:
            flash(_("Adverse event recorded."), "success")
            return redirect(url_for("cases.show", referral_id=procedure.referral_id))
    return render_template(
        "decisions/adverse_event.html", form=form, procedure=procedure
    ), form_status(form)


# --- on the case page ---------------------------------------------------------------


@case_section(10, "decisions/case_section.html")
def _case_section(referral: Referral) -> dict[str, Any]:
    decisions = queries.case_decisions(referral.id)
    procedures = queries.case_procedures(referral.id)
    plan = next((d.plan for d in decisions if d.plan is not None and d.is_validated), None)
    return {
        "decisions": decisions,
        "plan": plan,
        "procedures": procedures,
        "awaiting_procedure": plan is not None and referral.status is CaseStatus.PLANNED,
        "prerequisite_form": PrerequisiteForm(),
        "confirm": ConfirmForm(),
    }

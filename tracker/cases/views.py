"""Pages of the cases: list, referral form, case page, edits."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import SelectChoice

from tracker.auth.models import User
from tracker.auth.services import active_users_with
from tracker.cases import services
from tracker.cases.contact import phone_display
from tracker.cases.forms import (
    CaseFilterForm,
    ContactFields,
    ContactForm,
    PatientForm,
    ReferralCreateForm,
    ReferralEditForm,
    WithdrawForm,
)
from tracker.cases.models import Patient, Referral
from tracker.cases.permissions import (
    CONTACT_EDITORS,
    IDENTITY_EDITORS,
    TEAM,
    can_correct_identity,
    can_edit_contact,
    can_edit_referral,
)
from tracker.cases.queries import (
    SEARCH_CAP,
    CaseFilters,
    case_list_query,
    cases_by_id,
    other_episodes,
    referred_by,
    worklist,
)
from tracker.cases.rules import (
    EDITABLE,
    CaseStatus,
    can_transition,
    missing_labels,
)
from tracker.cases.sections import CaseAction, header_for, sections_for
from tracker.cases.timeline import timeline_for
from tracker.catalogue.models import Indication
from tracker.catalogue.services import offered_entries
from tracker.core.audit import AuditAction, record_access
from tracker.core.audit_trail import case_history_query, describe
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import local_today
from tracker.extensions import db
from tracker.web.handlers import (
    conflict_of,
    edit_status,
    form_status,
    paginate,
    record_id,
    saved_before,
    saving,
)
from tracker.web.permissions import Role, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("cases", __name__)


# --- access to one case -------------------------------------------------------


def get_referral_or_404(referral_id: int, *, for_edit: bool = False) -> Referral:
    """Load, 404 if absent, then 403 if the user may not do what they ask."""
    referral = db.one_or_404(
        select(Referral)
        .where(Referral.id == referral_id)
        .options(
            joinedload(Referral.patient),
            joinedload(Referral.indication),
            joinedload(Referral.referrer),
            joinedload(Referral.previous),
            joinedload(Referral.verdict),  # the retreatment verdict of a treated case
        )
    )
    if for_edit and not can_edit_referral(current_user, referral):
        abort(403)
    return referral


# --- form helpers ------------------------------------------------------------


def _fill_choices(
    form: Any, referral: Referral | None = None, *, with_retired: bool = False
) -> None:
    """Referrers and indications offered, keeping a case's own if since retired
    (and every indication when filtering, for old cases)."""
    people = active_users_with(Role.RADIOLOGIST, Role.CLINICIAN)
    if referral is not None and referral.referrer and referral.referrer not in people:
        people.append(referral.referrer)
    form.referrer_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(user.id), user.full_name) for user in people
    ]
    current = referral.indication_id if referral is not None else None
    form.indication_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(entry.id), entry.name)
        for entry in offered_entries(Indication, current, with_retired=with_retired)
    ]


def _identity(form: Any) -> services.PatientIdentity:
    return services.PatientIdentity(
        mrn=form.mrn.data,
        last_name=form.last_name.data,
        first_name=form.first_name.data,
        birth_on=form.birth_on.data,
        sex=form.sex.data,
    )


def _show_contact(form: ContactFields, patient: Patient) -> None:
    """A form opened on what is recorded: numbers as people read them (they
    are read back as the same numbers), the consent box ticked if given."""
    form.phone_1.data = phone_display(patient.phone_1)
    form.phone_2.data = phone_display(patient.phone_2)
    form.contact_consent.data = patient.contact_consent_on is not None


def _flash_status(referral: Referral) -> None:
    if referral.status is CaseStatus.DRAFT:
        flash(
            _(
                "%(case)s saved as a draft: it can be put on an agenda once complete.",
                case=referral.case_number,
            ),
            "warning",
        )
    else:
        flash(_("%(case)s saved.", case=referral.case_number), "success")


# --- pages -----------------------------------------------------------------


@bp.route("/cases")
@require_role(*TEAM)
def index() -> Any:
    form = CaseFilterForm(request.args)
    _fill_choices(form, with_retired=True)
    valid = form.validate()
    filters = CaseFilters()
    if valid:
        filters = CaseFilters(
            q=form.q.data or None,
            status=form.status.data,
            indication_id=form.indication_id.data,
            urgency=form.urgency.data,
            referrer_id=form.referrer_id.data,
            referred_from=form.referred_from.data,
            referred_to=form.referred_to.data,
            sort=form.sort.data or "newest",
        )
    # A search (a common name matches thousands) pages its first matches only.
    page = paginate(
        case_list_query(filters),
        per_page=current_app.config["PER_PAGE"],
        max_per_page=100,
        cap=SEARCH_CAP if filters.q else None,
    )
    page.items = cases_by_id(page.items)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("cases/list.html", form=form, page=page, args=args)


@bp.route("/cases/new", methods=["GET", "POST"])
@require_role(*TEAM)
@shows_no_patient_data
def create() -> Any:
    form = ReferralCreateForm()
    _fill_choices(form)
    from tracker.fhir.forms import RecordImportForm

    record = RecordImportForm(prefix="record")
    if request.method == "POST" and request.form.get("record-action") in ("paste", "fetch"):
        return _import_record(form, record, request.form["record-action"])
    if request.method == "GET":
        form.referral_on.data = local_today()
        if current_user.has_role(Role.RADIOLOGIST, Role.CLINICIAN):
            form.referrer_id.data = current_user.id
    show_existing_choice = bool(form.use_existing_patient.data)
    show_save_anyway = bool(form.save_anyway.data)
    if form.validate_on_submit():
        if done := saved_before(form):
            return redirect(url_for("cases.show", referral_id=done.object_id))
        with saving(form) as saved:
            patient = services.patient_for_referral(
                _identity(form), use_existing=form.use_existing_patient.data
            )
            services.check_not_just_referred(patient, confirmed=form.save_anyway.data)
            # What is typed adds to a known patient's contact, never erases it.
            services.update_contact(patient, form.contact(), by=current_user, keep_recorded=True)
            referral = services.refer_case(patient, form.details(), by=current_user)
            remember(form.once_key.data, "referral", referral.id, user_id=current_user.id)
        if saved.ok:
            _flash_status(referral)
            return redirect(url_for("cases.show", referral_id=referral.id))
        if isinstance(saved.error, AlreadySaved) and (done := saved_before(form)):
            return redirect(url_for("cases.show", referral_id=done.object_id))
        if isinstance(saved.error, services.PatientMismatch):
            show_existing_choice = True
        if isinstance(saved.error, services.RecentReferral):
            show_save_anyway = True
    return _referral_form(
        form,
        record,
        show_existing_choice=show_existing_choice,
        show_save_anyway=show_save_anyway,
    ), form_status(form)


def _referral_form(form: ReferralCreateForm, record: Any, **context: Any) -> str:
    from tracker.fhir.imports import source_configured

    return render_template(
        "cases/referral_form.html",
        form=form,
        record=record,
        fetch_offered=source_configured(),
        referral=None,
        **context,
    )


def _import_record(form: ReferralCreateForm, record: Any, action: str) -> Any:
    """The referral form prefilled from the hospital record (pasted, uploaded or
    fetched): shown again, nothing saved until the user saves it."""
    from tracker.fhir import imports

    prefill = None
    if record.validate():
        upload = record.upload.data
        try:
            if action == "fetch":
                if not imports.source_configured():
                    raise imports.SourceProblem(_("No hospital FHIR server is configured."))
                if not record.number.data:
                    raise imports.SourceProblem(_("Type the hospital number to look up."), "number")
                prefill = imports.fetch_patient(record.number.data.strip())
                source = "server"
            elif upload and getattr(upload, "filename", None):
                prefill = imports.read_record(upload.stream.read(imports.MAX_RECORD_BYTES + 1))
                source = "file"
            elif record.text.data and record.text.data.strip():
                prefill = imports.read_record(record.text.data)
                source = "pasted"
            else:
                raise imports.RecordProblem(_("Paste the record or choose its file."))
        except imports.SourceProblem as problem:
            record.number.errors = [*record.number.errors, problem.message]
        except imports.RecordProblem as problem:
            target = record.upload if action == "paste" and upload else record.text
            target.errors = [*target.errors, problem.message]
    if prefill is None:
        return _referral_form(form, record, import_failed=True), 422
    imports.prefill_form(form, prefill)
    imports.record_import(prefill, source)
    db.session.commit()
    record.text.data = ""  # imported: not sent again with the referral
    return _referral_form(form, record, prefill=prefill)


def _record_view(referral: Referral, **details: str) -> None:
    """Opening a patient's case is recorded in the audit trail."""
    record_access(
        AuditAction.VIEW,
        "Referral",
        referral.id,
        referral_id=referral.id,
        patient_id=referral.patient_id,
        details=details,
    )


@bp.route("/cases/<int:referral_id>")
@require_role(*TEAM)
def show(referral_id: int) -> str:
    referral = get_referral_or_404(referral_id)
    _record_view(referral)
    can_edit = can_edit_referral(current_user, referral) and referral.status in EDITABLE
    sections = sections_for(referral)
    own = []
    if can_edit and referral.status is CaseStatus.DRAFT:
        own.append(
            CaseAction(
                _("Complete the referral sheet"),
                url_for("cases.edit", referral_id=referral.id),
                10,
            )
        )
    return render_template(
        "cases/show.html",
        referral=referral,
        missing=missing_labels(referral),
        timeline=timeline_for(referral),
        episodes=other_episodes(referral),
        sections=sections,
        header=header_for(referral, sections, own),
        can_edit=can_edit,
        can_withdraw=can_edit_referral(current_user, referral)
        and can_transition(referral.status, CaseStatus.WITHDRAWN),
        can_correct_identity=can_correct_identity(current_user, referral.patient),
        can_edit_contact=can_edit_contact(current_user, referral.patient),
        online=services.questionnaire_channel(referral.patient),
    )


@bp.route("/cases/<int:referral_id>/history")
@require_role(*TEAM)
def history(referral_id: int) -> str:
    """Who changed the case and its patient's identity, or who opened it."""
    referral = get_referral_or_404(referral_id)
    access = request.args.get("show") == "access"
    _record_view(referral, page="history")
    page = paginate(
        case_history_query(referral.id, referral.patient_id, changes=not access), per_page=50
    )
    return render_template(
        "cases/history.html",
        referral=referral,
        page=page,
        lines=describe(list(page.items), team=True),
        access=access,
    )


@bp.route("/cases/<int:referral_id>/edit", methods=["GET", "POST"])
@require_role(*TEAM)
def edit(referral_id: int) -> Any:
    referral = get_referral_or_404(referral_id, for_edit=True)
    form = ReferralEditForm(obj=referral)
    _fill_choices(form, referral)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_referral(
                referral,
                form.details(),
                expected_version=form.expected_version(),
                by=current_user,
            )
        if saved.ok:
            _flash_status(referral)
            return redirect(url_for("cases.show", referral_id=referral.id))
        conflict = conflict_of(saved, form, referral)
    return render_template(
        "cases/referral_form.html",
        form=form,
        referral=referral,
        conflict=conflict,
        show_existing_choice=False,
    ), edit_status(form, conflict)


@bp.route("/cases/<int:referral_id>/withdraw", methods=["GET", "POST"])
@require_role(*TEAM)
def withdraw(referral_id: int) -> Any:
    referral = get_referral_or_404(referral_id, for_edit=True)
    form = WithdrawForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.withdraw(referral, reason=form.reason.data, by=current_user)
        if saved.ok:
            flash(_("%(case)s is withdrawn.", case=referral.case_number), "success")
            return redirect(url_for("cases.show", referral_id=referral.id))
    return render_template("cases/withdraw.html", form=form, referral=referral), form_status(form)


@bp.route("/patients/<int:patient_id>/edit", methods=["GET", "POST"])
@require_role(*IDENTITY_EDITORS)
def patient_edit(patient_id: int) -> Any:
    patient = db.get_or_404(Patient, patient_id)
    if not can_correct_identity(current_user, patient):
        abort(403)
    form = PatientForm(obj=patient)
    if not form.is_submitted():
        _show_contact(form, patient)
    back = record_id(request.args.get("case"))
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_patient(
                patient,
                _identity(form),
                by=current_user,
                expected_version=form.expected_version(),
            )
            # Checked just above, in the same save.
            services.update_contact(patient, form.contact(), by=current_user)
        if saved.ok:
            flash(
                _("Identity and contact details of %(name)s saved.", name=patient.display_name),
                "success",
            )
            return _back_to(back, patient)
        conflict = conflict_of(saved, form, patient)
    return render_template(
        "cases/patient_form.html", form=form, patient=patient, back=back, conflict=conflict
    ), edit_status(form, conflict)


@bp.route("/patients/<int:patient_id>/contact", methods=["GET", "POST"])
@require_role(*CONTACT_EDITORS)
def patient_contact(patient_id: int) -> Any:
    """How to reach the patient: the nurse who phones may correct it too."""
    patient = db.get_or_404(Patient, patient_id)
    if not can_edit_contact(current_user, patient):
        abort(403)
    form = ContactForm(obj=patient)
    if not form.is_submitted():
        _show_contact(form, patient)
    back = record_id(request.args.get("case"))
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_contact(
                patient,
                form.contact(),
                by=current_user,
                expected_version=form.expected_version(),
            )
        if saved.ok:
            flash(_("Contact details of %(name)s saved.", name=patient.display_name), "success")
            return _back_to(back, patient)
        conflict = conflict_of(saved, form, patient)
    return render_template(
        "cases/contact_form.html", form=form, patient=patient, back=back, conflict=conflict
    ), edit_status(form, conflict)


def _back_to(referral_id: int | None, patient: Patient) -> Any:
    if referral_id:
        return redirect(url_for("cases.show", referral_id=referral_id))
    return redirect(url_for("cases.index", q=patient.mrn))


# --- home panels ---------------------------------------------------------------


def coordinator_panel(user: User) -> dict[str, Any]:
    return {
        "drafts": worklist(CaseStatus.DRAFT, 15),
        "waiting": worklist(CaseStatus.REFERRED, 15),
    }


def referrer_panel(user: User) -> dict[str, Any]:
    return {"mine": referred_by(user, 10)}

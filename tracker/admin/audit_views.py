"""The administrators' audit trail viewer and its CSV export."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from tracker.admin import services
from tracker.auth.models import User
from tracker.cases.models import Patient, Referral
from tracker.core.audit import AuditAction, record_access
from tracker.core.audit_trail import (
    CSV_HEADER,
    AuditFilters,
    audit_query,
    csv_rows,
    describe,
    entity_types,
    record_kind,
)
from tracker.core.errors import DomainError
from tracker.core.time import local_today, to_local, utcnow
from tracker.extensions import db
from tracker.web.exports import csv_response
from tracker.web.forms import EnumSelectField, Form, apply_domain_error, optional_int
from tracker.web.handlers import INVALID, form_status, paginate
from tracker.web.permissions import Role, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("audit", __name__)


class AuditFilterForm(Form):
    """The viewer's filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    actor_id = SelectField(_l("Who"), coerce=optional_int, validators=[Optional()])
    mrn = StringField(_l("Patient (hospital number)"), validators=[Optional(), Length(max=20)])
    case_number = StringField(_l("Case number"), validators=[Optional(), Length(max=20)])
    entity_type = SelectField(_l("Kind of record"), validators=[Optional()])
    action = EnumSelectField(_l("Action"), enum=AuditAction, blank=True)
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])

    def __init__(self, *args: Any, unmasked: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Searching by hospital number names a patient: only with a stated reason.
        self.unmasked = unmasked
        users = db.session.execute(select(User.id, User.full_name).order_by(User.full_name))
        self.actor_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(user_id), name) for user_id, name in users
        ]
        self.entity_type.choices = [SelectChoice("", "—")] + [
            SelectChoice(name, record_kind(name)) for name in entity_types()
        ]
        self.patient_id: int | None = None
        self.referral_id: int | None = None

    def validate_mrn(self, field: Any) -> None:
        value = (field.data or "").strip()
        if value and not self.unmasked:
            raise ValidationError(_("State a reason above before searching by hospital number."))
        if value:
            self.patient_id = db.session.scalar(select(Patient.id).where(Patient.mrn == value))
            if self.patient_id is None:
                raise ValidationError(_("No patient has this hospital number."))

    def validate_case_number(self, field: Any) -> None:
        value = (field.data or "").strip().upper()
        if value:
            self.referral_id = db.session.scalar(
                select(Referral.id).where(func.upper(Referral.case_number) == value)
            )
            if self.referral_id is None:
                raise ValidationError(_("No case has this number."))

    def validate_until(self, field: Any) -> None:
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_("The end comes before the start."))

    def filters(self) -> AuditFilters:
        return AuditFilters(
            actor_id=self.actor_id.data,
            patient_id=self.patient_id,
            patient_cases=(
                None
                if self.patient_id is None
                else select(Referral.id).where(Referral.patient_id == self.patient_id)
            ),
            referral_id=self.referral_id,
            entity_type=self.entity_type.data or None,
            action=self.action.data,
            since=self.since.data,
            until=self.until.data,
        )


def _case_numbers(referral_ids: set[int]) -> dict[int, str]:
    if not referral_ids:
        return {}
    query = select(Referral.id, Referral.case_number).where(Referral.id.in_(referral_ids))
    return dict(db.session.execute(query).all())


class UnmaskForm(Form):
    """Why an administrator needs to see the patients' identities."""

    reason = TextAreaField(
        _l("Why do you need the patients' identities?"),
        validators=[DataRequired(), Length(max=services.REASON_MAX_LENGTH)],
        description=_l(
            "For example: the patient asked who opened their file. The reason is recorded; "
            "identities stay shown to you for %(minutes)d minutes.",
            minutes=services.UNMASKED_MINUTES,
        ),
    )


#: Where the session keeps an administrator's stated reason.
UNMASKED_KEY = "audit_unmasked"


def _viewer_url() -> str:
    """The viewer with the filters the request came with."""
    query = urlencode(list(request.args.items(multi=True)))
    return url_for("audit.index") + (f"?{query}" if query else "")


def _unmasked() -> services.Unmasked | None:
    return services.unmasked_for(session.get(UNMASKED_KEY), current_user.id, utcnow())


def _filter_form(unmasked: services.Unmasked | None) -> tuple[AuditFilterForm, bool]:
    form = AuditFilterForm(request.args, unmasked=unmasked is not None)
    return form, (not request.args or form.validate())


def _shown_filters() -> dict[str, str]:
    return {key: value for key, value in request.args.items() if value}


def _record_read(unmasked: services.Unmasked | None, form: AuditFilterForm) -> None:
    """Every view of the trail is recorded, with the reason when identities show."""
    details: dict[str, Any] = {"masked": unmasked is None, **_shown_filters()}
    if unmasked is not None:
        details["reason"] = unmasked.reason
    record_access(
        AuditAction.VIEW,
        "AuditTrail",
        "viewer",
        referral_id=form.referral_id,
        patient_id=form.patient_id,
        details=details,
    )


def _page(unmask_form: UnmaskForm | None = None, status: int | None = None) -> Any:
    unmasked = _unmasked()
    form, valid = _filter_form(unmasked)
    page = None
    lines = []
    case_numbers: dict[int, str] = {}
    if valid:
        page = paginate(audit_query(form.filters()), per_page=50)
        lines = describe(list(page.items), masked=unmasked is None)
        case_numbers = _case_numbers({e.referral_id for e in page.items if e.referral_id})
    _record_read(unmasked, form)
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        lines=lines,
        case_numbers=case_numbers,
        args=args,
        unmasked=unmasked,
        unmasked_until=to_local(unmasked.until) if unmasked else None,
        unmask_form=unmask_form or UnmaskForm(formdata=None),
    ), (status or (200 if valid else INVALID))


@bp.route("/admin/audit")
@require_role(Role.ADMIN)
def index() -> Any:
    return _page()


@bp.route("/admin/audit/unmask", methods=["POST"])
@require_role(Role.ADMIN)
def unmask() -> Any:
    """Break the glass: state a reason, see the identities for a while."""
    form = UnmaskForm()
    if form.validate_on_submit():
        try:
            granted = services.unmask_identities(form.reason.data, by=current_user)
        except DomainError as error:
            apply_domain_error(form, error)
        else:
            db.session.commit()
            session[UNMASKED_KEY] = granted.as_session()
            return redirect(_viewer_url())
    return _page(form, status=form_status(form))


@bp.route("/admin/audit/mask", methods=["POST"])
@require_role(Role.ADMIN)
def mask() -> Any:
    session.pop(UNMASKED_KEY, None)
    return redirect(_viewer_url())


@bp.route("/admin/audit.csv")
@require_role(Role.ADMIN)
def export() -> Any:
    unmasked = _unmasked()
    if unmasked is None:
        # The file holds every value as stored, identities included.
        flash(_("State a reason to export the audit trail: the file names patients."), "warning")
        return redirect(_viewer_url())
    form, valid = _filter_form(unmasked)
    if not valid:
        return _page()
    filters = form.filters()
    record_access(
        AuditAction.EXPORT,
        "AuditEntry",
        "",
        patient_id=form.patient_id,
        referral_id=form.referral_id,
        details={"format": "csv", "reason": unmasked.reason, **_shown_filters()},
    )
    name = f"audit-trail-{local_today().isoformat()}.csv"
    # The rows are read as the file is sent, after the request's own work is done.
    return csv_response(name, CSV_HEADER, csv_rows(filters))

"""The administrators' audit trail viewer and its CSV export."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

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
from tracker.core.time import local_today
from tracker.extensions import db
from tracker.web.exports import csv_response
from tracker.web.forms import EnumSelectField, Form, optional_int
from tracker.web.handlers import INVALID
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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
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


def _filter_form() -> tuple[AuditFilterForm, bool]:
    form = AuditFilterForm(request.args)
    return form, (not request.args or form.validate())


@bp.route("/admin/audit")
@require_role(Role.ADMIN)
def index() -> Any:
    form, valid = _filter_form()
    page = None
    lines = []
    case_numbers: dict[int, str] = {}
    if valid:
        page = db.paginate(audit_query(form.filters()), per_page=50, error_out=False)
        lines = describe(list(page.items))
        case_numbers = _case_numbers({e.referral_id for e in page.items if e.referral_id})
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        lines=lines,
        case_numbers=case_numbers,
        args=args,
    ), (200 if valid else INVALID)


@bp.route("/admin/audit.csv")
@require_role(Role.ADMIN)
def export() -> Any:
    form, valid = _filter_form()
    if not valid:
        return index()
    filters = form.filters()
    record_access(
        AuditAction.EXPORT,
        "AuditEntry",
        "",
        details={"format": "csv", **{k: v for k, v in request.args.items() if v}},
    )
    name = f"audit-trail-{local_today().isoformat()}.csv"
    # The rows are read as the file is sent, after the request's own work is done.
    return csv_response(name, CSV_HEADER, csv_rows(filters))

"""The administrators' pages: site settings and background jobs."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from wtforms import FloatField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from tracker.core import signals
from tracker.core.locking import EditConflict
from tracker.core.mail import OutboxMessage, retry
from tracker.core.reads import shows_no_patient_data
from tracker.core.scheduler import last_runs, next_run
from tracker.core.settings import (
    SettingSpec,
    check_settings_version,
    set_setting,
    settings_version,
)
from tracker.extensions import db
from tracker.web.forms import ConfirmForm, Form, VersionedForm
from tracker.web.handlers import edit_status, paginate, saving
from tracker.web.permissions import Role, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("admin", __name__)


def _specs() -> list[SettingSpec]:
    return signals.collected(signals.settings)


def _settings_form() -> Form:
    """A form with one number field per declared setting."""

    class SettingsForm(VersionedForm):
        def expected_version(self) -> Any:
            # Several rows: each stored setting's version (``settings_version``).
            return request.form.get(self.version.name)

    for spec in _specs():
        field = IntegerField if spec.kind is int else FloatField
        setattr(
            SettingsForm,
            spec.key,
            field(
                spec.label,
                validators=[InputRequired(), NumberRange(spec.minimum, spec.maximum)],
                description=spec.help,
            ),
        )
    return SettingsForm(
        data={spec.key: spec.value for spec in _specs()} | {"version": settings_version()}
    )


@bp.route("/admin/settings", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def settings() -> Any:
    form = _settings_form()
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            check_settings_version(form.expected_version())
            for spec in _specs():
                set_setting(spec, getattr(form, spec.key).data)
        if saved.ok:
            flash(_("Settings saved."), "success")
            return redirect(url_for("admin.settings"))
        if isinstance(saved.error, EditConflict):
            conflict = saved.error
            form.version.data = settings_version()
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("Settings"),
        intro=_(
            "Conventions of the unit. The defaults follow the published guidance; changes "
            "apply at once and are recorded in the audit trail."
        ),
        conflict=conflict,
    ), edit_status(form, conflict)


@bp.route("/admin/jobs")
@require_role(Role.ADMIN)
@shows_no_patient_data
def jobs() -> str:
    runs = last_runs()
    page = paginate(
        select(OutboxMessage).order_by(OutboxMessage.sent_at.is_not(None), OutboxMessage.id.desc()),
        per_page=50,
    )
    return render_template(
        "admin/jobs.html",
        jobs=[
            (spec, runs.get(spec.id), next_run(spec)) for spec in signals.collected(signals.jobs)
        ],
        page=page,
        configured=bool(current_app.config.get("MAIL_HOST")),
    )


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@require_role(Role.ADMIN)
def outbox_retry(message_id: int) -> Any:
    message = db.get_or_404(OutboxMessage, message_id)
    if ConfirmForm().validate_on_submit():
        with saving():
            retry(message)
        flash(_("The message will be sent at the next run of the outbox job."), "success")
    return redirect(url_for("admin.jobs"))

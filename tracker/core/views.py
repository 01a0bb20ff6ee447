"""The home page, the language switch and the error pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from wtforms import FloatField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from tracker.core.forms import Form
from tracker.core.handlers import form_status, safe_next_url, saving
from tracker.core.home import panels_for
from tracker.core.navigation import ACCOUNT, ADMIN, register_nav
from tracker.core.permissions import Role, login_required, public, require_role
from tracker.core.settings import set_setting, setting, setting_specs
from tracker.extensions import db

logger = logging.getLogger(__name__)

bp = Blueprint("core", __name__)

register_nav("core.settings", _l("Settings"), 920, ADMIN)
register_nav("core.jobs", _l("Background jobs"), 930, ADMIN)
register_nav("core.notifications", _l("My e-mails"), 800, ACCOUNT)

LANGUAGE_COOKIE = "rcp_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


@bp.route("/")
@login_required
def home() -> str:
    return render_template("core/home.html", panels=panels_for(current_user))


def _settings_form() -> Form:
    """A form with one number field per declared setting."""

    class SettingsForm(Form):
        pass

    for spec in setting_specs():
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
    return SettingsForm(data={spec.key: setting(spec.key) for spec in setting_specs()})


@bp.route("/admin/settings", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def settings() -> Any:
    form = _settings_form()
    if form.validate_on_submit():
        with saving(form) as saved:
            for spec in setting_specs():
                set_setting(spec.key, getattr(form, spec.key).data)
        if saved.ok:
            flash(_("Settings saved."), "success")
            return redirect(url_for("core.settings"))
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("Settings"),
        intro=_(
            "Conventions of the unit. The defaults follow the published guidance; changes "
            "apply at once and are recorded in the audit trail."
        ),
    ), form_status(form)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def notifications() -> Any:
    from tracker.auth.forms import EmailPreferencesForm
    from tracker.auth.services import EMAIL_PREFERENCES, set_email_preferences

    form = EmailPreferencesForm(obj=current_user)
    if form.validate_on_submit():
        with saving(form) as saved:
            set_email_preferences(
                current_user, {name: getattr(form, name).data for name in EMAIL_PREFERENCES}
            )
        if saved.ok:
            flash(_("Your e-mail choices are saved."), "success")
            return redirect(url_for("core.notifications"))
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("E-mails I receive"),
        intro=_("E-mails carry case numbers and links, never a patient's name."),
    ), form_status(form)


@bp.route("/admin/jobs")
@require_role(Role.ADMIN)
def jobs() -> str:
    from sqlalchemy import select

    from tracker.core.mail import OutboxMessage
    from tracker.core.scheduler import jobs as declared
    from tracker.core.scheduler import last_runs, next_run

    runs = last_runs()
    page = db.paginate(
        select(OutboxMessage).order_by(OutboxMessage.sent_at.is_not(None), OutboxMessage.id.desc()),
        per_page=50,
        error_out=False,
    )
    return render_template(
        "core/jobs.html",
        jobs=[(spec, runs.get(spec.id), next_run(spec)) for spec in declared()],
        page=page,
        configured=bool(current_app.config.get("MAIL_HOST")),
    )


@bp.route("/admin/outbox/<int:message_id>/retry", methods=["POST"])
@require_role(Role.ADMIN)
def outbox_retry(message_id: int) -> Any:
    from tracker.core.forms import ConfirmForm
    from tracker.core.mail import OutboxMessage, retry

    message = db.get_or_404(OutboxMessage, message_id)
    if ConfirmForm().validate_on_submit():
        with saving():
            retry(message)
        flash(_("The message will be sent at the next run of the outbox job."), "success")
    return redirect(url_for("core.jobs"))


@bp.route("/language", methods=["POST"])
@public
def set_language() -> Any:
    """Switch the interface language; remembered in a cookie and on the account."""
    lang = request.form.get("lang", "")
    target = safe_next_url(request.form.get("next"))
    if lang not in current_app.config["LANGUAGES"]:
        flash(_("This language is not available."), "warning")
        return redirect(target)
    if current_user.is_authenticated and current_user.locale != lang:
        current_user.locale = lang
        db.session.commit()
    response = redirect(target)
    response.set_cookie(
        LANGUAGE_COOKIE,
        lang,
        max_age=LANGUAGE_COOKIE_AGE,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
        samesite="Lax",
    )
    return response


def _error_texts() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        403: (_("Access denied"), _("Your account does not give access to this page.")),
        404: (
            _("Page not found"),
            _("There is nothing at this address. It may have been moved or deleted."),
        ),
        405: (_("Not allowed"), _("This page cannot be used this way.")),
        413: (_("Too large"), _("What was sent is larger than this site accepts.")),
        500: (
            _("Something went wrong"),
            _(
                "The error has been logged and nothing was saved. Please try again; if it "
                "happens again, tell your administrator what you were doing."
            ),
        ),
    }


def _error_page(code: int) -> tuple[str, int]:
    title, message = _error_texts()[code]
    return render_template("errors/error.html", code=code, title=title, message=message), code


def handle_http_error(error: HTTPException) -> Any:
    code = error.code or 500
    if code not in _error_texts():
        return error
    return _error_page(code)


def handle_csrf_error(error: CSRFError) -> Any:
    title = _("The form has expired")
    message = _(
        "For your security the form could not be sent: your session changed since the "
        "page was opened (for example after logging out). Go back, reload the page and "
        "send it again."
    )
    return render_template("errors/error.html", code=400, title=title, message=message), 400


def handle_server_error(error: Exception) -> Any:
    # Whatever the request changed is thrown away: a half-done change must not be
    # committed by a later request on the same session.
    # Flask has already logged the exception with its traceback.
    db.session.rollback()
    return _error_page(500)

"""The pages every site has: the home page, the language switch, the error pages."""

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
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.extensions import db
from tracker.web.handlers import safe_next_url
from tracker.web.home import panels_for
from tracker.web.permissions import login_required, public

logger = logging.getLogger(__name__)

bp = Blueprint("pages", __name__)

LANGUAGE_COOKIE = "rcp_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


@bp.route("/")
@login_required
def home() -> str:
    return render_template("core/home.html", panels=panels_for(current_user))


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

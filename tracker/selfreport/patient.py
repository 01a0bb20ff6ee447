"""The patient pages: a link from an invitation, the birth date, the
questionnaire, thanks. No account, no staff session: the link's token and the
patient's birth date are the only keys, and every attempt is audited.

Served by the staff application and, alone, by ``wsgi_patient.py`` (a hospital
may expose only these pages, through its reverse proxy, in a DMZ).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from tracker.core.audit import acting_as
from tracker.core.errors import DomainError
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.selfreport import services
from tracker.selfreport.forms import BirthDateForm, QuestionnaireForm
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import Refusal, token_hash
from tracker.web.permissions import public

bp = Blueprint("patient", __name__, url_prefix="/p")

#: The proof that the birth date was checked lasts this long (seconds): time to
#: answer, not to come back tomorrow.
PROOF_SECONDS = 2 * 60 * 60
LANGUAGES = ("fr", "en")


def _proofs() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="selfreport-birth-date")


def patient_locale() -> str | None:
    """The patient's choice (?lang=), else their preferred language, else the browser's."""
    chosen = request.args.get("lang") or request.form.get("lang")
    if chosen in LANGUAGES:
        return chosen
    invitation = g.get("invitation")
    if invitation is not None and invitation.patient.preferred_language is not None:
        return str(invitation.patient.preferred_language.value)
    return request.accept_languages.best_match(list(LANGUAGES))


def _refused(reason: Refusal, status: int = 410) -> tuple[str, int]:
    return render_template("selfreport/refused.html", reason=reason), status


def _client() -> str:
    return request.remote_addr or "unknown"


def _guarded(token: str) -> tuple[Invitation | None, Any]:
    """The invitation of ``token``, or the page to answer instead: too many
    requests, or a link that does not (or no longer) work."""
    now = utcnow()
    keys = [f"address:{_client()}", f"link:{token_hash(token)[:32]}"]
    if services.too_many(keys, now):
        db.session.commit()
        return None, _refused(Refusal.BUSY, 429)
    invitation = services.find(token)
    g.invitation = invitation
    reason = services.why_not(invitation, now)
    if reason is not None:
        with acting_as(f"patient link ({reason.value})"):
            db.session.commit()
        return None, _refused(reason, 404 if reason is Refusal.UNKNOWN else 410)
    return invitation, None


def _actor(invitation: Invitation) -> Any:
    return acting_as(f"patient, through invitation {invitation.id}")


@bp.route("/<token>", methods=["GET", "POST"])
@public
def landing(token: str) -> Any:
    invitation, refused = _guarded(token)
    if invitation is None:
        return refused
    form = BirthDateForm()
    now = utcnow()
    with _actor(invitation):
        services.opened(invitation, now)
        if request.method == "POST" and form.validate():
            if services.check_birth_date(invitation, form.born_on.data, now):
                db.session.commit()
                questions = QuestionnaireForm(formdata=None)
                questions.proof.data = _proofs().dumps([invitation.id, invitation.nonce])
                return render_template("selfreport/questionnaire.html", form=questions, token=token)
            db.session.commit()
            if invitation.locked_at is not None:
                return _refused(Refusal.LOCKED)
            form.born_on.errors = [
                *form.born_on.errors,
                _("This date of birth does not match. Please check it and try again."),
            ]
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template("selfreport/landing.html", form=form, token=token), status


@bp.route("/<token>/answers", methods=["POST"])
@public
def answers(token: str) -> Any:
    invitation, refused = _guarded(token)
    if invitation is None:
        return refused
    form = QuestionnaireForm()
    try:
        invitation_id, nonce = _proofs().loads(form.proof.data or "", max_age=PROOF_SECONDS)
    except (BadSignature, ValueError, TypeError):
        db.session.commit()
        return render_template(
            "selfreport/landing.html", form=BirthDateForm(formdata=None), token=token, again=True
        ), 403
    if invitation_id != invitation.id or nonce != invitation.nonce:
        db.session.commit()
        return _refused(Refusal.UNKNOWN, 404)
    if form.validate():
        try:
            with _actor(invitation):
                services.answer(invitation, form.answers(), utcnow())
                db.session.commit()
        except DomainError as error:
            db.session.rollback()
            if error.field and error.field in form:
                form[error.field].errors = [*form[error.field].errors, str(error.message)]
            else:
                return _refused(Refusal.ANSWERED, 409)
        else:
            return render_template("selfreport/thanks.html")
    db.session.commit()
    return render_template("selfreport/questionnaire.html", form=form, token=token), 422


@bp.route("/<token>/stop", methods=["GET", "POST"])
@public
def stop(token: str) -> Any:
    invitation, refused = _guarded(token)
    if invitation is None:
        return refused
    if request.method == "POST":
        with _actor(invitation):
            services.opt_out(invitation, utcnow())
            db.session.commit()
        return render_template("selfreport/stopped.html")
    db.session.commit()
    return render_template("selfreport/stop.html", token=token)


@bp.errorhandler(HTTPException)
def patient_error(error: HTTPException) -> tuple[str, int]:
    """Any other error on these pages, said plainly, without the staff menus."""
    return render_template("selfreport/error.html", code=error.code), error.code or 500


@bp.after_request
def _no_referrer(response: Response) -> Response:
    # The token is in the address: never sent on to another site.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

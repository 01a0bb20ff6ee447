"""The patient pages: a link from an invitation, the birth date, the
questionnaire, thanks. No account, no staff session: the link's token and the
patient's birth date are the only keys, and every attempt is audited.

Served by the staff application and, alone, by ``wsgi_patient.py`` (a hospital
may expose only these pages, through its reverse proxy, in a DMZ).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from tracker.core.audit import AuditAction, acting_as
from tracker.core.errors import DomainError
from tracker.core.reads import read_by_the_patient
from tracker.core.time import utcnow
from tracker.extensions import csrf, db
from tracker.selfreport import services
from tracker.selfreport.forms import BirthDateForm, QuestionnaireForm
from tracker.selfreport.models import Invitation
from tracker.selfreport.rules import Refusal, token_hash
from tracker.web.headers import PATIENT_POLICY
from tracker.web.permissions import by_link

bp = Blueprint("patient", __name__, url_prefix="/p")

# The team as named to patients, on every patient page.
bp.add_app_template_global(services.team_name, "team_name")
# No session here, so no session-bound CSRF token: the link's secret and the
# signed proof of the birth date stand for it (another site knows neither).
csrf.exempt(bp)

#: The proof that the birth date was checked lasts this long (seconds): time to
#: answer, not to come back tomorrow.
PROOF_SECONDS = 2 * 60 * 60
LANGUAGES = ("fr", "en")
#: Who the audit trail names for a request on a link that opens nothing.
REFUSED_ACTOR = "patient link ({reason})"
#: How long a client refused for too many requests is asked to wait (seconds).
RETRY_AFTER = int(services.ATTEMPT_WINDOW.total_seconds())


def _proofs() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="selfreport-birth-date")


def patient_locale() -> str | None:
    """The language the patient just chose (the switch), else the one they are
    reading in (``?lang=``), else their preferred language, else the browser's."""
    for chosen in (request.form.get("lang"), request.args.get("lang")):
        if chosen in LANGUAGES:
            return chosen
    invitation = g.get("invitation")
    if invitation is not None and invitation.patient.preferred_language is not None:
        return str(invitation.patient.preferred_language.value)
    return request.accept_languages.best_match(list(LANGUAGES))


def _client() -> str:
    return request.remote_addr or "unknown"


def _refused(
    reason: Refusal, status: int, invitation: Invitation | None = None, token: str | None = None
) -> Any:
    """The page for a link that opens nothing now, and its entry in the audit
    trail (on the invitation when the link is a real one)."""
    with acting_as(REFUSED_ACTOR.format(reason=reason.value)):
        services.record_attempt(
            invitation, AuditAction.LOGIN_FAILED, {"refused": reason.value, "address": _client()}
        )
    db.session.commit()
    return render_template("selfreport/refused.html", reason=reason, token=token), status


def _guarded(token: str) -> tuple[Invitation | None, Any]:
    """The invitation of ``token``, or the page to answer instead: too many
    requests, or a link that does not (or no longer) work."""
    now = utcnow()
    over = services.too_many([f"address:{_client()}", f"link:{token_hash(token)[:32]}"], now)
    if over:
        if 1 in over.values():
            # The first refusal of a run is recorded, not each of the thousands
            # a script may send after it.
            return None, _busy(_refused(Refusal.BUSY, 429))
        db.session.commit()
        html = render_template("selfreport/refused.html", reason=Refusal.BUSY)
        return None, _busy((html, 429))
    invitation = services.find(token)
    g.invitation = invitation
    reason = services.why_not(invitation, now)
    if reason is not None:
        status = 404 if reason is Refusal.UNKNOWN else 410
        return None, _refused(reason, status, invitation, token)
    return invitation, None


def _busy(page: tuple[str, int]) -> Response:
    response = current_app.make_response(page)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    return response


def _actor(invitation: Invitation) -> Any:
    return acting_as(f"patient, through invitation {invitation.id}")


def _questionnaire(form: QuestionnaireForm, token: str, status: int = 200) -> tuple[str, int]:
    return render_template("selfreport/questionnaire.html", form=form, token=token), status


@bp.route("/<token>", methods=["GET", "POST"])
@by_link
@read_by_the_patient
def landing(token: str) -> Any:
    invitation, refused = _guarded(token)
    if invitation is None:
        return refused
    form = BirthDateForm()
    now = utcnow()
    with _actor(invitation):
        services.opened(invitation, now)
        if request.method == "GET":
            services.record_attempt(invitation, AuditAction.VIEW, {"address": _client()})
        elif form.validate():
            if services.check_birth_date(invitation, form.born_on.data, now):
                db.session.commit()
                questions = QuestionnaireForm(formdata=None)
                questions.proof.data = _proofs().dumps([invitation.id, invitation.nonce])
                return _questionnaire(questions, token)
            db.session.commit()
            if invitation.locked_at is not None:
                return _refused(Refusal.LOCKED, 410, invitation, token)
            form.born_on.errors = [
                *form.born_on.errors,
                _("This date of birth does not match. Please check it and try again."),
            ]
        db.session.commit()
    status = 422 if form.errors else 200
    return render_template("selfreport/landing.html", form=form, token=token), status


@bp.route("/<token>/answers", methods=["GET", "POST"])
@by_link
@read_by_the_patient
def answers(token: str) -> Any:
    if request.method == "GET":
        # The thanks page's address, opened again later (a bookmark, a
        # history): the link's first page says where things stand.
        return redirect(url_for("patient.landing", token=token, lang=request.args.get("lang")))
    invitation, refused = _guarded(token)
    if invitation is None:
        return refused
    form = QuestionnaireForm()
    try:
        invitation_id, nonce = _proofs().loads(form.proof.data or "", max_age=PROOF_SECONDS)
    except (BadSignature, ValueError, TypeError):
        invitation_id, nonce = None, None
    if invitation_id != invitation.id or nonce != invitation.nonce:
        # Forged, expired (two hours), or from another link: the birth date again.
        with _actor(invitation):
            services.record_attempt(
                invitation, AuditAction.LOGIN_FAILED, {"refused": "proof", "address": _client()}
            )
        db.session.commit()
        page = render_template(
            "selfreport/landing.html", form=BirthDateForm(formdata=None), token=token, again=True
        )
        return page, 403
    if request.form.get("lang"):
        # The language switch: the same questions, as answered so far, in the
        # other language; nothing is checked or saved.
        db.session.commit()
        return _questionnaire(form, token)
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
                # Sent from another tab (or twice) at the same moment: recorded once.
                return _refused(Refusal.ANSWERED, 409, invitation)
        else:
            return render_template("selfreport/thanks.html")
    db.session.commit()
    return _questionnaire(form, token, 422)


@bp.route("/<token>/stop", methods=["GET", "POST"])
@by_link
@read_by_the_patient
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


def patient_headers(response: Response) -> Response:
    """The patient pages' own headers: a policy that lets nothing run (they need
    no script), the token in the address sent to no other site, not indexed."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = PATIENT_POLICY
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


bp.after_request(patient_headers)

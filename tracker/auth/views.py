"""Login, logout and the account administration pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.auth import second_factor, services, throttle
from tracker.auth.directory import directory_configured
from tracker.auth.forms import (
    DirectoryGroupForm,
    EmailPreferencesForm,
    LoginCodeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    SecondFactorCodeForm,
    SecondFactorConfirmForm,
    SecondFactorOffForm,
    UserCreateForm,
    UserEditForm,
)
from tracker.auth.models import SessionEnd, User
from tracker.auth.settings import ADMIN_SECOND_FACTOR
from tracker.core.errors import DomainError
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.web.forms import ConfirmForm, apply_domain_error
from tracker.web.handlers import (
    INVALID,
    conflict_of,
    current_path,
    edit_status,
    form_status,
    paginate,
    safe_next_url,
    saved_before,
    saving,
)
from tracker.web.permissions import Role, login_required, public, require_role, rule_for

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def admin_panel(user: User) -> dict[str, Any]:
    return {}


def throttle_panel(user: User) -> dict[str, Any]:
    """The administrators' view of password guessing: who is held back now."""
    now = utcnow()
    return {"held_back": throttle.held_back(now), "now": now}


#: How long the second step of a login (the code) may wait after the password.
CODE_STEP_MINUTES = 5
#: The login half-done, in the session cookie: who, since when, and what next.
PENDING = "second_factor_pending"
#: An administrator who must set up a second factor before anything else.
MUST_ENROL = "second_factor_required"


def _device_cookie() -> str | None:
    return request.cookies.get(throttle.DEVICE_COOKIE)


@bp.route("/login", methods=["GET", "POST"])
@public
@shows_no_patient_data
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                form.email.data,
                form.password.data,
                ip_address=request.remote_addr,
                device_cookie=_device_cookie(),
            )
        except services.LoginRefused as refused:
            db.session.commit()  # the failure counts, and is audited
            form.password.errors.append(str(refused.message))
            return render_template(
                "auth/login.html", form=form, directory_login=directory_configured()
            ), INVALID
        # A fresh session cookie at login: an identifier planted before login
        # (session fixation) is never promoted to a logged-in session.
        next_url = safe_next_url(request.args.get("next"))
        session.clear()
        if user.has_second_factor:
            db.session.commit()  # a rehashed password is kept
            session[PENDING] = {
                "user": user.id,
                "at": utcnow().timestamp(),
                "remember": bool(form.remember.data),
                "next": next_url,
            }
            return redirect(url_for("auth.login_code"))
        return _complete_login(user, remember=form.remember.data, next_url=next_url)
    return render_template(
        "auth/login.html", form=form, directory_login=directory_configured()
    ), form_status(form)


def _pending_user() -> tuple[User | None, dict[str, Any]]:
    """The account whose password was right moments ago, still waiting for its code."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, {}
    started = pending.get("at")
    if not isinstance(started, int | float):
        return None, {}
    if utcnow().timestamp() - started > CODE_STEP_MINUTES * 60:
        return None, {}
    user_id = pending.get("user")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.is_active or not user.has_second_factor:
        return None, {}
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
@public
@shows_no_patient_data
def login_code() -> Any:
    """The second step of a login with a second factor."""
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    user, pending = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please log in again: the code was not given in time."), "info")
        return redirect(url_for("auth.login"))
    form = LoginCodeForm()
    if form.validate_on_submit():
        try:
            how = services.verify_second_factor(
                user,
                form.code.data,
                ip_address=request.remote_addr,
                device_cookie=_device_cookie(),
            )
        except services.LoginRefused as refused:
            db.session.commit()  # the failure counts, and is audited
            form.code.errors.append(str(refused.message))
            return render_template("auth/login_code.html", form=form), INVALID
        session.clear()
        if how == "recovery":
            flash(
                _(
                    "You used a recovery code: it will not work again. %(left)d remain.",
                    left=second_factor.unused_recovery_codes(user),
                ),
                "warning",
            )
        return _complete_login(
            user,
            remember=bool(pending.get("remember")),
            next_url=safe_next_url(pending.get("next")),
            second_factor=how,
        )
    return render_template("auth/login_code.html", form=form), form_status(form)


def _complete_login(
    user: User, *, remember: bool, next_url: str, second_factor: str | None = None
) -> Response:
    """Open the session, and remember this browser as one the account uses."""
    _log_in(user, remember=remember, second_factor=second_factor)
    if not user.has_second_factor and user.has_role(Role.ADMIN) and ADMIN_SECOND_FACTOR.value:
        session[MUST_ENROL] = True
        next_url = url_for("auth.second_factor_page")
    db.session.commit()
    response = make_response(redirect(next_url))
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        throttle.device_cookie_after_login(_device_cookie(), user.id, utcnow()),
        **throttle.device_cookie_options(),
    )
    return response


#: What an administrator who must set up a second factor may still open.
_WHILE_ENROLLING = frozenset(
    {
        "auth.second_factor_page",
        "auth.second_factor_start",
        "auth.second_factor_confirm",
        "auth.logout",
        "static",
    }
)


def require_enrolment() -> Any:
    """``before_request``: an administrator told to set up a second factor at
    login sees nothing else until it is done (the flag lives in the session
    cookie: no query on other requests)."""
    if not session.get(MUST_ENROL) or request.endpoint in _WHILE_ENROLLING:
        return None
    rule = rule_for(request.endpoint)
    if request.endpoint is None or rule is None or rule.sessionless:
        return None
    if not current_user.is_authenticated or current_user.has_second_factor:
        session.pop(MUST_ENROL, None)
        return None
    flash(_("This site asks administrators for a second factor: set it up to go on."), "warning")
    return redirect(url_for("auth.second_factor_page"))


def _log_in(user: User, *, remember: bool, second_factor: str | None = None) -> None:
    """A new login session for ``user`` on this browser."""
    opened = services.open_session(
        user,
        user_agent=request.user_agent.string,
        ip_address=request.remote_addr,
        remember=remember,
        second_factor=second_factor,
    )
    # The remember-me cookie lasts no longer than the session it restores.
    login_user(user, remember=remember, duration=opened.expires_at - opened.created_at)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Any:
    if current_user.current_session is not None:
        services.end_session(current_user.current_session)
    logout_user()
    session.clear()
    db.session.commit()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def unauthorized() -> Any:
    """Anonymous visitor on a page that needs a login: to the login page and back."""
    lapsed = g.get("session_lapsed")
    if lapsed is SessionEnd.IDLE:
        flash(_("Your login ended because it was not used for a while. Please log in again."))
    elif lapsed is SessionEnd.EXPIRED:
        flash(_("Your login reached its maximum length. Please log in again."), "info")
    else:
        flash(_("Please log in to open this page."), "info")
    return redirect(url_for("auth.login", next=current_path(request)))


# --- the person's own account -------------------------------------------------


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def notifications() -> Any:
    form = EmailPreferencesForm(obj=current_user)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_email_preferences(
                current_user,
                {name: getattr(form, name).data for name in services.EMAIL_PREFERENCES},
                expected_version=form.expected_version(),
            )
        if saved.ok:
            flash(_("Your e-mail choices are saved."), "success")
            return redirect(url_for("auth.notifications"))
        conflict = conflict_of(saved, form, current_user)
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("E-mails I receive"),
        intro=_("E-mails carry case numbers and links, never a patient's name."),
        conflict=conflict,
    ), edit_status(form, conflict)


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def profile() -> Any:
    form = ProfileForm(obj=current_user)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_form_of_address(
                current_user, form.form_of_address.data, expected_version=form.expected_version()
            )
        if saved.ok:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
        conflict = conflict_of(saved, form, current_user)
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("My profile"),
        intro=_("How the pages write about you."),
        conflict=conflict,
    ), edit_status(form, conflict)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def password() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        remembered = bool(current_user.current_session and current_user.current_session.remember)
        try:
            services.check_current_password(
                current_user,
                form.current_password.data,
                ip_address=request.remote_addr,
                device_cookie=_device_cookie(),
            )
        except DomainError as refusal:
            db.session.commit()  # a wrong current password counts as a failed login
            apply_domain_error(form, refusal)
            return render_template("auth/password.html", form=form), INVALID
        user = current_user._get_current_object()
        with saving(form) as saved:
            services.change_own_password(user, form.password.data)
            # Every session ended with the change: this browser gets a new one,
            # so a copy of the old cookie is worth nothing.
            session.clear()
            _log_in(user, remember=remembered)
        if saved.ok:
            flash(_("Your password is changed. Your other login sessions have ended."), "success")
            return redirect(url_for("pages.home"))
    return render_template("auth/password.html", form=form), form_status(form)


@bp.route("/account/second-factor")
@login_required
@shows_no_patient_data
def second_factor_page() -> Any:
    return _second_factor_shown(200)


def _second_factor_shown(status: int, **forms: Any) -> Any:
    """The page; after a refusal, with the user's input and errors in the form
    that failed (``forms``) and the others empty."""
    user = current_user._get_current_object()
    context = {
        "user": user,
        "uri": second_factor.provisioning_uri(user),
        "key": second_factor.grouped(user.totp_secret),
        "unused": second_factor.unused_recovery_codes(user) if user.has_second_factor else 0,
        "required": _required_for(user),
        "start_form": ConfirmForm(formdata=None),
        "confirm_form": SecondFactorConfirmForm(formdata=None, prefix="enrol"),
        "codes_form": SecondFactorCodeForm(formdata=None, prefix="renew"),
        "off_form": SecondFactorOffForm(formdata=None, prefix="off"),
    }
    context.update(forms)
    return render_template("auth/second_factor.html", **context), status


def _required_for(user: User) -> bool:
    return bool(user.has_role(Role.ADMIN) and ADMIN_SECOND_FACTOR.value)


@bp.route("/account/second-factor/start", methods=["POST"])
@login_required
def second_factor_start() -> Any:
    if ConfirmForm().validate_on_submit():
        with saving():
            second_factor.start_enrolment(current_user)
    return redirect(url_for("auth.second_factor_page"))


def _recovery_codes_page(codes: list[str]) -> Any:
    # Shown in the answer to the POST itself, not after a redirect: the codes
    # are readable only here, never stored anywhere but as hashes.
    return render_template("auth/recovery_codes.html", codes=codes)


@bp.route("/account/second-factor/confirm", methods=["POST"])
@login_required
def second_factor_confirm() -> Any:
    form = SecondFactorConfirmForm(prefix="enrol")
    if form.validate_on_submit():
        with saving(form) as saved:
            codes = second_factor.confirm_enrolment(current_user, form.code.data)
        if saved.ok:
            session.pop(MUST_ENROL, None)
            flash(_("Your second factor is set up: logins will ask for a code."), "success")
            return _recovery_codes_page(codes)
    return _second_factor_shown(INVALID, confirm_form=form)


@bp.route("/account/second-factor/recovery-codes", methods=["POST"])
@login_required
def second_factor_codes() -> Any:
    form = SecondFactorCodeForm(prefix="renew")
    if form.validate_on_submit():
        with saving(form) as saved:
            codes = second_factor.new_recovery_codes(current_user, form.code.data)
        if saved.ok:
            flash(_("New recovery codes: the previous ones no longer work."), "success")
            return _recovery_codes_page(codes)
    return _second_factor_shown(INVALID, codes_form=form)


@bp.route("/account/second-factor/off", methods=["POST"])
@login_required
def second_factor_off() -> Any:
    form = SecondFactorOffForm(prefix="off")
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            services.check_current_password(
                user,
                form.current_password.data,
                ip_address=request.remote_addr,
                device_cookie=_device_cookie(),
            )
        except DomainError as refusal:
            db.session.commit()  # a wrong password counts as a failed login
            apply_domain_error(form, refusal)
            return _second_factor_shown(INVALID, off_form=form)
        with saving(form) as saved:
            second_factor.turn_off(user, form.code.data, required=_required_for(user))
        if saved.ok:
            flash(_("Your second factor is off: logins ask for the password only."), "success")
            return redirect(url_for("auth.second_factor_page"))
    return _second_factor_shown(INVALID, off_form=form)


@bp.route("/account/sessions")
@login_required
@shows_no_patient_data
def sessions() -> str:
    listed = services.sessions_of(current_user)
    return render_template(
        "auth/sessions.html",
        listed=listed,
        current=current_user.current_session,
        form=ConfirmForm(),
        now=utcnow(),
    )


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def session_end(session_id: int) -> Any:
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.end_other_session(current_user, session_id)
        if saved.ok:
            flash(_("That login session has ended."), "success")
    return redirect(url_for("auth.sessions"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def sessions_end_others() -> Any:
    if ConfirmForm().validate_on_submit():
        ended = services.end_all_sessions(
            current_user, SessionEnd.REVOKED, keep=current_user.current_session
        )
        db.session.commit()
        flash(
            ngettext(
                "%(num)d other login session has ended.",
                "%(num)d other login sessions have ended.",
                ended,
            ),
            "success",
        )
    return redirect(url_for("auth.sessions"))


# --- account administration -------------------------------------------------


def _get_user_or_404(user_id: int) -> User:
    return db.first_or_404(
        select(User).options(selectinload(User.role_links)).where(User.id == user_id)
    )


@bp.route("/admin/users")
@require_role(Role.ADMIN)
@shows_no_patient_data
def users() -> str:
    page = paginate(
        select(User).options(selectinload(User.role_links)).order_by(User.full_name, User.id),
        per_page=50,
    )
    return render_template("auth/users.html", page=page)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def user_create() -> Any:
    form = UserCreateForm()
    if form.validate_on_submit():
        if saved_before(form):
            return redirect(url_for("auth.users"))
        with saving(form) as saved:
            user = services.create_user(
                email=form.email.data,
                full_name=form.full_name.data,
                specialty=form.specialty.data,
                roles=form.roles.data,
                password=form.password.data,
                form_of_address=form.form_of_address.data,
            )
            remember(form.once_key.data, "user", user.id, user_id=current_user.id)
        if saved.ok:
            flash(_("Account created for %(name)s.", name=user.full_name), "success")
            return redirect(url_for("auth.users"))
        if isinstance(saved.error, AlreadySaved) and saved_before(form):
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=None), form_status(form)


@bp.route("/admin/users/<int:user_id>/edit", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def user_edit(user_id: int) -> Any:
    user = _get_user_or_404(user_id)
    form = UserEditForm(obj=user)
    conflict = None
    if form.validate_on_submit():
        with saving(form) as saved:
            services.update_user(
                user,
                email=form.email.data,
                full_name=form.full_name.data,
                specialty=form.specialty.data,
                roles=form.roles.data,
                acting_user=current_user,
                form_of_address=form.form_of_address.data,
                expected_version=form.expected_version(),
            )
        if saved.ok:
            flash(_("Account of %(name)s saved.", name=user.full_name), "success")
            return redirect(url_for("auth.users"))
        conflict = conflict_of(saved, form, user)
    return render_template(
        "auth/user_form.html", form=form, user=user, conflict=conflict
    ), edit_status(form, conflict)


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def user_password(user_id: int) -> Any:
    user = _get_user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_password(user, form.password.data)
        if saved.ok:
            flash(
                _(
                    "New password set for %(name)s; their open sessions have ended.",
                    name=user.full_name,
                ),
                "success",
            )
            return redirect(url_for("auth.users"))
    return render_template("auth/user_password.html", form=form, user=user), form_status(form)


@bp.route("/admin/users/<int:user_id>/deactivate", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def user_deactivate(user_id: int) -> Any:
    """GET asks for confirmation; POST deactivates."""
    user = _get_user_or_404(user_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        with saving() as saved:
            services.deactivate_user(user, acting_user=current_user)
        if saved.ok:
            flash(_("%(name)s can no longer log in.", name=user.full_name), "success")
        return redirect(url_for("auth.users"))
    return render_template("auth/user_deactivate.html", form=form, user=user)


@bp.route("/admin/users/<int:user_id>/reactivate", methods=["POST"])
@require_role(Role.ADMIN)
def user_reactivate(user_id: int) -> Any:
    user = _get_user_or_404(user_id)
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.reactivate_user(user)
        if saved.ok:
            flash(_("%(name)s can log in again.", name=user.full_name), "success")
    return redirect(url_for("auth.users"))


@bp.route("/admin/directory-groups", methods=["GET", "POST"])
@require_role(Role.ADMIN)
@shows_no_patient_data
def directory_groups() -> Any:
    """Which directory groups give which roles and specialties."""
    form = DirectoryGroupForm()
    if form.validate_on_submit():
        with saving(form) as saved:
            services.map_directory_group(
                form.group_dn.data, role=form.role.data, specialty=form.specialty.data
            )
        if saved.ok:
            flash(_("The group is mapped: its members receive it at their next login."), "success")
            return redirect(url_for("auth.directory_groups"))
    return render_template(
        "auth/directory_groups.html",
        form=form,
        groups=services.list_directory_groups(),
        delete_form=ConfirmForm(),
        directory_login=directory_configured(),
    ), form_status(form)


@bp.route("/admin/directory-groups/<int:group_id>/delete", methods=["POST"])
@require_role(Role.ADMIN)
def directory_group_delete(group_id: int) -> Any:
    if ConfirmForm().validate_on_submit():
        with saving() as saved:
            services.unmap_directory_group(group_id)
        if saved.ok:
            flash(
                _(
                    "The group is no longer mapped: its members lose what it gave "
                    "at their next login."
                ),
                "success",
            )
    return redirect(url_for("auth.directory_groups"))

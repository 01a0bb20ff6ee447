"""Login, logout and the account administration pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tracker.auth import services
from tracker.auth.forms import (
    EmailPreferencesForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    ProfileForm,
    UserCreateForm,
    UserEditForm,
)
from tracker.auth.models import SessionEnd, User
from tracker.core.errors import DomainError
from tracker.core.once import AlreadySaved, remember
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.web.forms import ConfirmForm, apply_domain_error
from tracker.web.handlers import (
    INVALID,
    current_path,
    form_status,
    paginate,
    safe_next_url,
    saved_before,
    saving,
)
from tracker.web.permissions import Role, login_required, public, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def admin_panel(user: User) -> dict[str, Any]:
    return {}


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
                form.email.data, form.password.data, ip_address=request.remote_addr
            )
        except services.LoginRefused as refused:
            db.session.commit()  # the failure counts, and is audited
            form.password.errors.append(str(refused.message))
            return render_template("auth/login.html", form=form), INVALID
        # A fresh session cookie at login: an identifier planted before login
        # (session fixation) is never promoted to a logged-in session.
        next_url = safe_next_url(request.args.get("next"))
        session.clear()
        _log_in(user, remember=form.remember.data)
        db.session.commit()
        return redirect(next_url)
    return render_template("auth/login.html", form=form), form_status(form)


def _log_in(user: User, *, remember: bool) -> None:
    """A new login session for ``user`` on this browser."""
    opened = services.open_session(
        user,
        user_agent=request.user_agent.string,
        ip_address=request.remote_addr,
        remember=remember,
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
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_email_preferences(
                current_user,
                {name: getattr(form, name).data for name in services.EMAIL_PREFERENCES},
            )
        if saved.ok:
            flash(_("Your e-mail choices are saved."), "success")
            return redirect(url_for("auth.notifications"))
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("E-mails I receive"),
        intro=_("E-mails carry case numbers and links, never a patient's name."),
    ), form_status(form)


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def profile() -> Any:
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        with saving(form) as saved:
            services.set_form_of_address(current_user, form.form_of_address.data)
        if saved.ok:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template(
        "core/form_page.html",
        form=form,
        title=_("My profile"),
        intro=_("How the pages write about you."),
    ), form_status(form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@shows_no_patient_data
def password() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        remembered = bool(current_user.current_session and current_user.current_session.remember)
        try:
            services.check_current_password(current_user, form.current_password.data)
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
            )
        if saved.ok:
            flash(_("Account of %(name)s saved.", name=user.full_name), "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/user_form.html", form=form, user=user), form_status(form)


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

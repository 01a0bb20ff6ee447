"""Account verbs: create, edit, deactivate users; log in and out.

Services flush but never commit: the view (or CLI command) that called them
commits once, so a request's changes and their audit entries land together.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, selectinload

from tracker.auth.models import User, UserRole, UserSession, hash_token
from tracker.auth.passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from tracker.core.errors import DomainError
from tracker.core.permissions import Role
from tracker.core.specialties import Specialty
from tracker.core.time import utcnow
from tracker.extensions import db

logger = logging.getLogger(__name__)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalize_email(email)))


def _check_email_free(email: str, user: User | None = None) -> None:
    query = select(User.id).where(User.email == email)
    if user is not None and user.id is not None:
        query = query.where(User.id != user.id)
    if db.session.scalar(query) is not None:
        raise DomainError(_l("Another account already uses this e-mail address."), "email")


def _check_password(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise DomainError(" ".join(problems), "password")


def _check_roles(roles: Iterable[Role]) -> set[Role]:
    roles = set(roles)
    if not roles:
        raise DomainError(_l("Choose at least one role."), "roles")
    return roles


def _other_active_admins(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id)
    )


def create_user(
    *,
    email: str,
    full_name: str,
    specialty: Specialty,
    roles: Iterable[Role],
    password: str,
) -> User:
    email = normalize_email(email)
    roles = _check_roles(roles)
    _check_email_free(email)
    _check_password(password, email)
    user = User(
        email=email,
        full_name=full_name.strip(),
        specialty=specialty,
        password_hash=hash_password(password),
    )
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    logger.info("Created user %s with roles %s", user.id, sorted(r.value for r in roles))
    return user


def update_user(
    user: User,
    *,
    email: str,
    full_name: str,
    specialty: Specialty,
    roles: Iterable[Role],
    acting_user: User,
) -> None:
    email = normalize_email(email)
    roles = _check_roles(roles)
    _check_email_free(email, user)
    if Role.ADMIN in user.roles and Role.ADMIN not in roles:
        if user.id == acting_user.id:
            raise DomainError(_l("You cannot remove your own administrator role."), "roles")
        if user.is_active and not _other_active_admins(user):
            raise DomainError(_l("The last active administrator must keep the role."), "roles")
    user.email = email
    user.full_name = full_name.strip()
    user.specialty = specialty
    user.set_roles(roles)
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """A new password; every open session of the account ends."""
    _check_password(password, user.email)
    user.password_hash = hash_password(password)
    end_all_sessions(user)
    db.session.flush()


def deactivate_user(user: User, *, acting_user: User) -> None:
    if user.id == acting_user.id:
        raise DomainError(_l("You cannot deactivate your own account."))
    if not user.is_active:
        raise DomainError(_l("This account is already deactivated."))
    if user.has_role(Role.ADMIN) and not _other_active_admins(user):
        raise DomainError(_l("The last active administrator cannot be deactivated."))
    user.is_active = False
    end_all_sessions(user)
    db.session.flush()


def reactivate_user(user: User) -> None:
    if user.is_active:
        raise DomainError(_l("This account is already active."))
    user.is_active = True
    db.session.flush()


def authenticate(email: str, password: str) -> User | None:
    """The active account with these credentials, or None.

    The caller gets no hint of why a login failed: unknown e-mail, wrong
    password and deactivated account look the same from outside.
    """
    user = find_user_by_email(email)
    if user is None:
        burn_verification_time(password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        logger.info("Rehashed the password of user %s with the current settings", user.id)
    return user


def open_session(user: User, *, user_agent: str | None, ip_address: str | None) -> UserSession:
    token = secrets.token_urlsafe(32)
    session = UserSession(
        user=user,
        token_hash=hash_token(token),
        user_agent=(user_agent or "")[:300] or None,
        ip_address=(ip_address or "")[:45] or None,
    )
    session.token = token
    user.current_session = session
    user.last_login_at = utcnow()
    db.session.add(session)
    db.session.flush()
    return session


def load_session_user(token: str) -> User | None:
    """The active user behind an open session token, or None (the login is over)."""
    # One query per request: session, user and roles together.
    session = (
        db.session.scalars(
            select(UserSession)
            .join(UserSession.user)
            .options(contains_eager(UserSession.user).joinedload(User.role_links))
            .where(
                UserSession.token_hash == hash_token(token),
                UserSession.ended_at.is_(None),
                User.is_active.is_(True),
            )
        )
        .unique()
        .first()
    )
    if session is None:
        return None
    session.token = token
    session.user.current_session = session
    return session.user


def end_session(session: UserSession) -> None:
    if session.ended_at is None:
        session.ended_at = utcnow()
        db.session.flush()


def end_all_sessions(user: User) -> None:
    if user.id is None:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def active_users_with(*roles: Role) -> list[User]:
    """Active accounts holding any of ``roles`` (every active account if none given)."""
    query = select(User).where(User.is_active.is_(True)).order_by(User.full_name)
    if roles:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(roles))))
    return list(db.session.scalars(query))


EMAIL_PREFERENCES = (
    "email_followup_digest",
    "email_meeting_reminders",
    "email_eligible_cases",
    "email_draft_reminders",
)


def set_email_preferences(user: User, wanted: dict[str, bool]) -> None:
    for name in EMAIL_PREFERENCES:
        if name in wanted:
            setattr(user, name, bool(wanted[name]))
    db.session.flush()


def list_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User).options(selectinload(User.role_links)).order_by(User.full_name)
        )
    )

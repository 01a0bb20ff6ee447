"""Account verbs: create, edit, deactivate users; log in and out.

Services flush but never commit: the view (or CLI command) that called them
commits once, so a request's changes and their audit entries land together.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import contains_eager, selectinload

from tracker.auth import second_factor, throttle
from tracker.auth.directory import (
    Directory,
    DirectoryEntry,
    DirectoryUnavailable,
    get_directory,
    normalize_dn,
)
from tracker.auth.models import (
    NO_LOCAL_PASSWORD,
    AuthSource,
    DirectoryGroup,
    SessionEnd,
    User,
    UserRole,
    UserSession,
    hash_token,
)
from tracker.auth.passwords import (
    burn_verification_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from tracker.auth.settings import SESSION_IDLE_MINUTES, SESSION_MAX_HOURS
from tracker.core.address import FormOfAddress
from tracker.core.afterwards import write_after_response
from tracker.core.audit import AuditAction, record_access, set_request_actor
from tracker.core.errors import DomainError
from tracker.core.locking import check_version
from tracker.core.specialties import Specialty
from tracker.core.time import utcnow
from tracker.extensions import db
from tracker.web.permissions import Role

logger = logging.getLogger(__name__)


#: How often the last use of a session is written down.
TOUCH_INTERVAL = timedelta(minutes=1)


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
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .join(UserRole)
        .where(UserRole.role == Role.ADMIN, User.is_active.is_(True), User.id != user.id)
    ).scalar_one()


def create_user(
    *,
    email: str,
    full_name: str,
    specialty: Specialty,
    roles: Iterable[Role],
    password: str,
    form_of_address: FormOfAddress = FormOfAddress.UNSPECIFIED,
) -> User:
    email = normalize_email(email)
    roles = _check_roles(roles)
    _check_email_free(email)
    _check_password(password, email)
    user = User(
        email=email,
        full_name=full_name.strip(),
        specialty=specialty,
        form_of_address=form_of_address,
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
    form_of_address: FormOfAddress | None = None,
    expected_version: int | None = None,
) -> None:
    check_version(user, expected_version)
    email = normalize_email(email)
    roles = _check_roles(roles)
    _check_email_free(email, user)
    if user.id == acting_user.id and roles != user.roles:
        # Separation of duties: what an administrator may see and do is decided
        # by another administrator, never by themselves.
        raise DomainError(
            _l("You cannot change your own roles: another administrator must do it."), "roles"
        )
    losing_admin = Role.ADMIN in user.roles and Role.ADMIN not in roles
    if losing_admin and user.is_active and not _other_active_admins(user):
        raise DomainError(_l("The last active administrator must keep the role."), "roles")
    user.email = email
    user.full_name = full_name.strip()
    user.specialty = specialty
    if form_of_address is not None:
        user.form_of_address = form_of_address
    user.set_roles(roles)
    db.session.flush()


def _refuse_directory_password(user: User, field: str = "password") -> None:
    if user.is_directory_account:
        raise DomainError(
            _l(
                "This account logs in with the hospital directory: its password is "
                "changed there, not in RCP Tracker."
            ),
            field,
        )


def set_password(user: User, password: str) -> None:
    """A new password; every open session of the account ends, and the waits
    after failed logins with its e-mail are lifted."""
    _refuse_directory_password(user)
    _check_password(password, user.email)
    user.password_hash = hash_password(password)
    end_all_sessions(user, SessionEnd.PASSWORD)
    throttle.forget_account_failures(user.email)
    db.session.flush()


def check_current_password(
    user: User,
    password: str,
    *,
    ip_address: str | None = None,
    device_cookie: str | None = None,
    field: str = "current_password",
) -> None:
    """Refuse (``DomainError``) unless ``password`` is the user's own.

    Guessing the current password from an unattended browser counts as
    guessing it at the login page: a wrong one is a failed login, kept even
    though the change is refused, so the caller commits after a refusal.
    """
    now = utcnow()
    device = throttle.device_key_for(device_cookie, user.id, now)
    wait = throttle.wait_before_attempt(user.email, ip_address, device, now)
    if wait is not None:
        raise DomainError(wait.message(now), field)
    if not _password_is_right(user, password, field):
        throttle.count_failure(user.email, ip_address, device, now)
        raise DomainError(_l("This is not your current password."), field)


def _password_is_right(user: User, password: str, field: str) -> bool:
    """The account's own password: the directory checks a directory account's."""
    if not user.is_directory_account:
        return verify_password(user.password_hash, password)
    directory = get_directory()
    if directory is None or not user.directory_dn:
        return False
    try:
        return directory.check_password(
            DirectoryEntry(dn=user.directory_dn, email=user.email, full_name=user.full_name),
            password,
        )
    except DirectoryUnavailable:
        raise DomainError(DIRECTORY_DOWN, field) from None


def change_own_password(user: User, new: str) -> None:
    """The user's own change, once ``check_current_password`` passed.  Every
    session ends, this one included: the caller opens a fresh one for this
    browser."""
    if verify_password(user.password_hash, new):
        raise DomainError(_l("Choose a password different from the current one."), "password")
    set_password(user, new)


def deactivate_user(user: User, *, acting_user: User) -> None:
    if user.id == acting_user.id:
        raise DomainError(_l("You cannot deactivate your own account."))
    if not user.is_active:
        raise DomainError(_l("This account is already deactivated."))
    if user.has_role(Role.ADMIN) and not _other_active_admins(user):
        raise DomainError(_l("The last active administrator cannot be deactivated."))
    user.is_active = False
    end_all_sessions(user, SessionEnd.DEACTIVATED)
    db.session.flush()


def reactivate_user(user: User) -> None:
    if user.is_active:
        raise DomainError(_l("This account is already active."))
    user.is_active = True
    db.session.flush()


class LoginRefused(Exception):
    """The login did not succeed; ``message`` is what the person is told."""

    def __init__(self, message: object) -> None:
        super().__init__(str(message))
        self.message = message


def _refuse(email: str, reason: str, user: User | None, message: object) -> LoginRefused:
    record_access(
        AuditAction.LOGIN_FAILED,
        "User",
        user.id if user is not None else "",
        details={"email": normalize_email(email)[:254], "reason": reason},
    )
    return LoginRefused(message)


def authenticate(
    email: str,
    password: str,
    *,
    ip_address: str | None = None,
    device_cookie: str | None = None,
) -> User:
    """The active account with these credentials, or ``LoginRefused``.

    ``email`` is what the person typed: an e-mail, or with a hospital
    directory their hospital user name.  A local account checks its own
    password; any other name is looked up in the directory
    (``tracker.auth.directory``), which checks the password and gives the
    roles.  A directory account never falls back to a local password.

    The person gets no hint of why a login failed: unknown e-mail, wrong
    password and deactivated account look the same from outside, and so does
    a wait after too many failures (the audit trail says which).  While an
    attempt must wait it is refused without being checked or counted
    (``tracker.auth.throttle``: per client address and e-mail, or per known
    browser).  An account with a second factor still needs its code
    (``verify_second_factor``) before a session opens.
    """
    now = utcnow()
    user = find_user_by_email(email)
    device = throttle.device_key_for(device_cookie, user.id if user else None, now)
    wait = throttle.wait_before_attempt(email, ip_address, device, now)
    if wait is not None:
        raise _refuse(email, f"throttled ({wait.scope})", user, wait.message(now))
    directory = get_directory()
    if directory is not None and (user is None or user.is_directory_account):
        user = _authenticate_in_directory(directory, email, password, ip_address, device, now)
        if not user.has_second_factor:
            # Under the name typed (a user name) and the account's e-mail.
            throttle.forget_own_failures(email, ip_address, device)
            throttle.forget_own_failures(user.email, ip_address, device)
        return user
    failure = None
    if user is None:
        burn_verification_time(password)
        failure = "unknown"
    elif user.is_directory_account:
        # The directory is not configured any more: its accounts cannot log in.
        burn_verification_time(password)
        failure = "directory account, no directory"
    elif not verify_password(user.password_hash, password):
        failure = "password"
    elif not user.is_active:
        failure = "inactive"
    elif directory is not None and not local_login_allowed(user):
        failure = "local login not allowed"
    if failure is not None or user is None:
        throttle.count_failure(email, ip_address, device, now)
        raise _refuse(
            email,
            failure or "unknown",
            user,
            _l("Wrong e-mail or password, or the account is inactive."),
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        logger.info("Rehashed the password of user %s with the current settings", user.id)
    if not user.has_second_factor:
        throttle.forget_own_failures(user.email, ip_address, device)
    return user


def local_login_allowed(user: User) -> bool:
    """With a directory, a site may keep local passwords for named accounts
    only (``TRACKER_LOCAL_LOGIN_ONLY``, break-glass administrators)."""
    allowed = current_app.config.get("LOCAL_LOGIN_ONLY") or []
    return not allowed or user.email in allowed


DIRECTORY_DOWN = _l(
    "The hospital directory does not answer: try again in a few minutes or call the IT help desk."
)
WRONG_LOGIN = _l("Wrong user name or password, or the account is inactive.")
NO_GROUP = _l(
    "Your hospital account is in none of the groups that give access to RCP Tracker: "
    "ask the RCP coordinator or the IT help desk."
)


def _authenticate_in_directory(
    directory: Directory,
    login: str,
    password: str,
    ip_address: str | None,
    device: str | None,
    now: datetime,
) -> User:
    """Check the login against the directory, create or bring the account up
    to date from it (name, e-mail, roles and specialty from the groups)."""

    def fail(reason: str, user: User | None, message: object = WRONG_LOGIN) -> LoginRefused:
        throttle.count_failure(login, ip_address, device, now)
        return _refuse(login, reason, user, message)

    try:
        entry = directory.find(login)
        if entry is None:
            burn_verification_time(password)
            raise fail("unknown", find_user_by_email(login))
        user = _directory_user(entry)
        if not directory.check_password(entry, password):
            raise fail("password", user)
    except DirectoryUnavailable:
        # Not the person's slip: not counted, and never a local password instead.
        raise _refuse(login, "directory unavailable", None, DIRECTORY_DOWN) from None
    if entry.disabled:
        if user is not None and user.is_active:
            user.is_active = False
            end_all_sessions(user, SessionEnd.DEACTIVATED)
            db.session.flush()
            logger.info("Deactivated user %s: disabled in the directory", user.id)
        raise fail("disabled in the directory", user)
    if user is not None and not user.is_directory_account:
        # A local account already has this e-mail: linking it is an
        # administrator's decision, not something a login does.
        raise fail("e-mail of a local account", user)
    if user is not None and not user.is_active:
        raise fail("inactive", user)
    roles, specialty = roles_from_groups(entry.groups)
    if user is not None:
        user.set_roles(roles)
    if not roles:
        db.session.flush()
        raise fail("no mapped group", user, NO_GROUP)
    email = entry.email or ""
    if not email or _email_taken(email, user):
        raise fail("no e-mail, or e-mail of another account", user)
    if user is None:
        user = User(
            email=email,
            full_name=entry.full_name or email,
            specialty=specialty or Specialty.OTHER,
            password_hash=NO_LOCAL_PASSWORD,
            auth_source=AuthSource.DIRECTORY,
            directory_dn=entry.dn,
        )
        user.set_roles(roles)
        db.session.add(user)
        logger.info("Created directory user %s", email)
    else:
        user.email = email
        user.directory_dn = entry.dn
        if entry.full_name:
            user.full_name = entry.full_name
        if specialty is not None:
            user.specialty = specialty
    db.session.flush()
    return user


def _email_taken(email: str, user: User | None) -> bool:
    query = select(User.id).where(User.email == email)
    if user is not None:
        query = query.where(User.id != user.id)
    return db.session.scalar(query) is not None


def _directory_user(entry: DirectoryEntry) -> User | None:
    """The account of a directory entry: by its DN, else by its e-mail."""
    user = db.session.scalar(select(User).where(User.directory_dn == entry.dn))
    if user is None and entry.email:
        user = find_user_by_email(entry.email)
    return user


def roles_from_groups(groups: Iterable[str]) -> tuple[set[Role], Specialty | None]:
    """The roles the mapped groups among ``groups`` give, and the specialty of
    the first of them (by DN) that gives one."""
    wanted = {normalize_dn(group) for group in groups}
    if not wanted:
        return set(), None
    mapped = db.session.scalars(
        select(DirectoryGroup)
        .where(DirectoryGroup.group_dn.in_(wanted))
        .order_by(DirectoryGroup.group_dn)
    ).all()
    roles = {group.role for group in mapped if group.role is not None}
    specialties = [group.specialty for group in mapped if group.specialty is not None]
    return roles, specialties[0] if specialties else None


def deactivate_unlisted_directory_accounts(directory: Directory, now: datetime) -> dict[str, int]:
    """The nightly check: active directory accounts that the directory no
    longer lists, or lists as disabled, are deactivated (audited); running it
    twice changes nothing more.  A directory that does not answer changes nothing."""
    users = db.session.scalars(
        select(User)
        .where(User.auth_source == AuthSource.DIRECTORY, User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    deactivated = 0
    try:
        for user in users:
            entry = directory.lookup(user.directory_dn) if user.directory_dn else None
            if entry is None or entry.disabled:
                user.is_active = False
                end_all_sessions(user, SessionEnd.DEACTIVATED)
                deactivated += 1
                logger.info("Deactivated user %s: no longer in the directory", user.id)
    except DirectoryUnavailable:
        logger.warning("The directory does not answer: no account checked tonight")
        db.session.flush()
        return {"checked": 0, "deactivated": deactivated, "unavailable": 1}
    db.session.flush()
    return {"checked": len(users), "deactivated": deactivated}


def verify_second_factor(
    user: User,
    code: str,
    *,
    ip_address: str | None = None,
    device_cookie: str | None = None,
) -> str:
    """How the person proved the second factor (``"app"`` or ``"recovery"``),
    or ``LoginRefused``.  A wrong code counts as a failed login."""
    now = utcnow()
    device = throttle.device_key_for(device_cookie, user.id, now)
    wait = throttle.wait_before_attempt(user.email, ip_address, device, now)
    if wait is not None:
        raise _refuse(user.email, f"throttled ({wait.scope})", user, wait.message(now))
    how = second_factor.check_code(user, code) if user.is_active else None
    if how is None:
        throttle.count_failure(user.email, ip_address, device, now)
        raise _refuse(user.email, "code", user, _l("This code is not valid."))
    throttle.forget_own_failures(user.email, ip_address, device)
    return how


def open_session(
    user: User,
    *,
    user_agent: str | None,
    ip_address: str | None,
    remember: bool = False,
    second_factor: str | None = None,
) -> UserSession:
    """A new login for ``user`` on one browser, with the site's time limits;
    ``second_factor`` says how the code was given, if one was."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    session = UserSession(
        user=user,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        idle_minutes=SESSION_IDLE_MINUTES.value,
        expires_at=now + timedelta(hours=SESSION_MAX_HOURS.value),
        remember=remember,
        user_agent=(user_agent or "")[:300] or None,
        ip_address=(ip_address or "")[:45] or None,
    )
    session.token = token
    user.current_session = session
    user.last_login_at = now
    db.session.add(session)
    db.session.flush()
    set_request_actor(user.id, user.email)
    details: dict[str, object] = {"session": session.id}
    if second_factor is not None:
        details["second_factor"] = second_factor
    record_access(AuditAction.LOGIN, "User", user.id, details=details)
    return session


def _end_lapsed(session_id: int, reason: SessionEnd, now: datetime) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(ended_at=now, ended_reason=reason)
    )


def _touch(session_id: int, now: datetime) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
        .values(last_seen_at=now)
    )


def load_session_user(token: str) -> User | None:
    """The active user behind an open session token, or None (the login is over).

    A session unused for its idle time, or older than its lifetime, is over:
    it is marked ended once the response is ready, and the request says why
    (``g.session_lapsed``) so that the login page can tell the person.
    """
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
    now = utcnow()
    lapse = session.lapse(now)
    session_id = session.id
    if lapse is not None:
        if has_request_context():
            g.session_lapsed = lapse
            write_after_response(lambda response: _end_lapsed(session_id, lapse, now))
        return None
    if now - session.last_seen_at >= TOUCH_INTERVAL and has_request_context():
        write_after_response(lambda response: _touch(session_id, now))
    session.token = token
    session.user.current_session = session
    return session.user


def end_session(session: UserSession, reason: SessionEnd = SessionEnd.LOGOUT) -> None:
    if session.ended_at is None:
        session.ended_at = utcnow()
        session.ended_reason = reason
        db.session.flush()
        if reason is SessionEnd.LOGOUT:
            record_access(AuditAction.LOGOUT, "User", session.user_id)


def end_all_sessions(user: User, reason: SessionEnd, *, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` but ``keep``; how many ended."""
    if user.id is None:
        return 0
    query = update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    # DML runs return a CursorResult, which the session's signature does not say.
    ended = db.session.execute(query.values(ended_at=utcnow(), ended_reason=reason))
    return ended.rowcount  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SessionList:
    open: list[UserSession]
    ended: list[UserSession]


def sessions_of(user: User, *, recent: int = 10) -> SessionList:
    """The user's logins still open, then the last ``recent`` that ended."""
    now = utcnow()
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.ended_at.is_not(None), UserSession.created_at.desc())
        .limit(200)
    ).all()
    still_open = [row for row in rows if row.is_open and row.lapse(now) is None]
    ended = [row for row in rows if row not in still_open][:recent]
    return SessionList(still_open, ended)


def end_other_session(user: User, session_id: int) -> UserSession:
    """End one of the user's own sessions from another browser."""
    session = db.session.get(UserSession, session_id)
    if session is None or session.user_id != user.id:
        raise DomainError(_l("This login session does not exist."))
    if user.current_session is not None and session.id == user.current_session.id:
        raise DomainError(_l("To end this session, log out."))
    if not session.is_open:
        raise DomainError(_l("This login session has already ended."))
    end_session(session, SessionEnd.REVOKED)
    return session


def close_lapsed_sessions(now: datetime) -> int:
    """Mark ended the sessions that ran out without anyone coming back to them."""
    closed = 0
    for session in db.session.scalars(select(UserSession).where(UserSession.ended_at.is_(None))):
        reason = session.lapse(now)
        if reason is not None:
            session.ended_at, session.ended_reason = session.over_at, reason
            closed += 1
    db.session.flush()
    return closed


def forget_old_login_failures(now: datetime) -> int:
    """Failed logins older than a day count for nothing any more."""
    return throttle.forget_old_failures(now)


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
    "email_meeting_minutes",
)


def set_email_preferences(
    user: User, wanted: dict[str, bool], *, expected_version: int | None = None
) -> None:
    check_version(user, expected_version)
    for name in EMAIL_PREFERENCES:
        if name in wanted:
            setattr(user, name, bool(wanted[name]))
    db.session.flush()


def set_form_of_address(
    user: User, form_of_address: FormOfAddress, *, expected_version: int | None = None
) -> None:
    """The person's own choice of how their roles are written."""
    check_version(user, expected_version)
    user.form_of_address = form_of_address
    db.session.flush()


def list_users() -> list[User]:
    return list(
        db.session.scalars(
            select(User).options(selectinload(User.role_links)).order_by(User.full_name)
        )
    )


def list_directory_groups() -> list[DirectoryGroup]:
    return list(db.session.scalars(select(DirectoryGroup).order_by(DirectoryGroup.group_dn)))


def map_directory_group(
    group_dn: str, *, role: Role | None, specialty: Specialty | None
) -> DirectoryGroup:
    """Members of the group receive ``role`` and/or ``specialty`` from their
    next login (a group already mapped is changed)."""
    dn = normalize_dn(group_dn.strip())
    parts = dn.split(",")
    if not dn or any(not part.partition("=")[2] or "=" not in part for part in parts):
        raise DomainError(
            _l(
                "Write the group's distinguished name, for example CN=RCP-Radiologues,DC=chu,DC=fr."
            ),
            "group_dn",
        )
    if role is None and specialty is None:
        raise DomainError(_l("Choose a role, a specialty, or both."), "role")
    group = db.session.scalar(select(DirectoryGroup).where(DirectoryGroup.group_dn == dn))
    if group is None:
        group = DirectoryGroup(group_dn=dn)
        db.session.add(group)
    group.role = role
    group.specialty = specialty
    db.session.flush()
    return group


def unmap_directory_group(group_id: int) -> None:
    """Members of the group lose what it gave at their next login."""
    group = db.session.get(DirectoryGroup, group_id)
    if group is None:
        raise DomainError(_l("This group is not mapped."))
    db.session.delete(group)
    db.session.flush()

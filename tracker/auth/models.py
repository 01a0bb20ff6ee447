"""Accounts, their roles, and their login sessions."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.core.address import FormOfAddress
from tracker.core.audit import Audited
from tracker.core.enums import LabelledEnum, with_labels
from tracker.core.locking import Versioned
from tracker.core.specialties import Specialty
from tracker.core.time import utcnow
from tracker.extensions import Model
from tracker.web.permissions import Role


class AuthSource(LabelledEnum):
    """Where an account's password is checked."""

    LOCAL = "local"
    DIRECTORY = "directory"


with_labels(
    AuthSource,
    {AuthSource.LOCAL: _l("Local account"), AuthSource.DIRECTORY: _l("Hospital directory")},
)

#: The password hash of a directory account: no password verifies against it.
NO_LOCAL_PASSWORD = "!directory"  # noqa: S105 - a marker, not a secret


class User(Audited, Versioned, UserMixin, Model):
    """A member of the team with an account."""

    __audit_label__ = _l("Account")

    __tablename__ = "users"
    __audit_secret__ = frozenset({"password_hash", "totp_secret"})
    __audit_exclude__ = frozenset({"last_login_at", "totp_last_step"})
    # Logging in (and the rehash it may do, or the second factor's last code
    # used) or picking a language in the menu is not an edit of the account: no
    # form is made stale by it.
    __version_ignore__ = frozenset({"last_login_at", "password_hash", "locale", "totp_last_step"})
    __version_follows__ = ("role_links",)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name; stored lower-case so that look-ups ignore case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    specialty: Mapped[Specialty]
    #: How roles and functions are written about the person (French agrees them).
    form_of_address: Mapped[FormOfAddress] = mapped_column(default=FormOfAddress.UNSPECIFIED)
    #: argon2id hash (PHC string), rehashed at login when the cost settings change.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: A deactivated account cannot log in and its open sessions end.
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Preferred interface language; empty means "as the browser asks".
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    #: Which e-mails the person wants (each can be turned off).
    email_followup_digest: Mapped[bool] = mapped_column(default=True)
    email_meeting_reminders: Mapped[bool] = mapped_column(default=True)
    email_eligible_cases: Mapped[bool] = mapped_column(default=True)
    email_draft_reminders: Mapped[bool] = mapped_column(default=True)
    email_meeting_minutes: Mapped[bool] = mapped_column(default=True)
    #: Base32 key of the second factor (time-based one-time codes), from the
    #: moment the person starts enrolling; in force once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: When the person confirmed the second factor with a first code; empty: none.
    totp_confirmed_at: Mapped[datetime | None]
    #: The 30-second step of the last code accepted: a code is good once.
    totp_last_step: Mapped[int | None]
    #: Local accounts have their own password; directory accounts log in with
    #: the hospital's, checked by the directory, and take roles from its groups.
    auth_source: Mapped[AuthSource] = mapped_column(default=AuthSource.LOCAL)
    #: The person's distinguished name in the directory (directory accounts).
    directory_dn: Mapped[str | None] = mapped_column(String(500), unique=True)

    role_links: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    #: The login session this request belongs to (set by the user loader); a
    #: plain attribute, not a column (typed apart: the mapper reads annotations).
    if TYPE_CHECKING:
        current_session: UserSession | None
    current_session = None

    @property
    def roles(self) -> set[Role]:
        return {link.role for link in self.role_links}

    def set_roles(self, roles: set[Role]) -> None:
        wanted = set(roles)
        self.role_links = [link for link in self.role_links if link.role in wanted]
        for role in sorted(wanted - self.roles, key=lambda r: r.value):
            self.role_links.append(UserRole(role=role))

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_directory_account(self) -> bool:
        return self.auth_source is AuthSource.DIRECTORY

    @property
    def has_second_factor(self) -> bool:
        return self.totp_confirmed_at is not None and self.totp_secret is not None

    # Flask-Login's mixin compares users by ``get_id()``, which only a logged-in
    # user has here; the session's identity map already makes one object per row.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    def get_id(self) -> str:
        # Flask-Login keeps this in the session cookie: the session token, not the
        # user id, so that ending a session makes a copied cookie worthless.
        if self.current_session is None or self.current_session.token is None:
            raise RuntimeError("a user is logged in through a UserSession")
        return self.current_session.token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserRole(Audited, Model):
    """One role held by one user (a person may hold several)."""

    __audit_label__ = _l("Account role")

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(primary_key=True)

    user: Mapped[User] = relationship(back_populates="role_links")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionEnd(LabelledEnum):
    """Why a login session ended."""

    LOGOUT = "logout"
    IDLE = "idle"
    EXPIRED = "expired"
    PASSWORD = "password"  # noqa: S105 - a reason, not a secret
    REVOKED = "revoked"
    DEACTIVATED = "deactivated"


with_labels(
    SessionEnd,
    {
        SessionEnd.LOGOUT: _l("Logged out"),
        SessionEnd.IDLE: _l("Unused for too long"),
        SessionEnd.EXPIRED: _l("Reached its maximum length"),
        SessionEnd.PASSWORD: _l("Password changed"),
        SessionEnd.REVOKED: _l("Ended from another browser"),
        SessionEnd.DEACTIVATED: _l("Account deactivated"),
    },
)


class UserSession(Model):
    """One login on one browser.

    Only a hash of the token is stored, so a copy of the database does not let
    anyone take over a session.  The time limits are fixed when the session
    opens, from the site settings of that moment.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Last request made with the session (kept to the minute).
    last_seen_at: Mapped[datetime]
    #: The session ends this long after its last request...
    idle_minutes: Mapped[int]
    #: ... and at this moment whatever happens (absolute lifetime).
    expires_at: Mapped[datetime]
    #: The user asked to stay logged in after closing the browser.
    remember: Mapped[bool] = mapped_column(default=False)
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[SessionEnd | None]
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(String(45))

    user: Mapped[User] = relationship()

    #: The clear token, known only in the request that created the session or
    #: that presented it; a plain attribute, not a column.
    if TYPE_CHECKING:
        token: str | None
    token = None

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def idle_until(self) -> datetime:
        return self.last_seen_at + timedelta(minutes=self.idle_minutes)

    def lapse(self, now: datetime) -> SessionEnd | None:
        """Why the session is over by ``now`` without anyone ending it, if it is."""
        if now < min(self.expires_at, self.idle_until):
            return None
        # Whichever limit came first ended it.
        return SessionEnd.IDLE if self.idle_until < self.expires_at else SessionEnd.EXPIRED

    def end_reason(self, now: datetime) -> SessionEnd | None:
        return self.ended_reason or self.lapse(now)

    @property
    def over_at(self) -> datetime:
        """When a session that is over ended (or lapsed, if nobody noticed yet)."""
        return self.ended_at or min(self.expires_at, self.idle_until)


class LoginFailure(Model):
    """A failed login (wrong password or wrong code), counted to slow down
    whoever keeps guessing: per e-mail typed, per client address and per
    known browser (``tracker.auth.throttle``).

    Keyed by the e-mail typed, whether or not an account has it, so that the
    waits say nothing about which addresses exist.  Kept in the database so
    that every web worker sees the same count.
    """

    __tablename__ = "login_failures"
    __table_args__ = (
        Index(None, "email_key", "attempted_at"),
        Index(None, "ip_address", "attempted_at"),
        Index(None, "device_key", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The e-mail typed, normalised (lower case, no surrounding spaces).
    email_key: Mapped[str] = mapped_column(String(254))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    #: The known-browser key the attempt came with, if it had one for this account.
    device_key: Mapped[str | None] = mapped_column(String(32))


class RecoveryCode(Model):
    """One of the codes that stand in for the second factor once each (a lost
    phone).  Only an argon2 hash is kept, as for passwords."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class DirectoryGroup(Audited, Model):
    """A directory group mapped by an administrator to a role and/or a
    specialty: its members receive them at each login."""

    __audit_label__ = _l("Directory group")

    __tablename__ = "directory_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Distinguished name, normalised (``tracker.auth.directory.normalize_dn``).
    group_dn: Mapped[str] = mapped_column(String(500), unique=True)
    role: Mapped[Role | None]
    specialty: Mapped[Specialty | None]

"""Settings: defaults here, overridden by ``TRACKER_*`` environment variables.

Every setting a site may need to change is read from the environment so that one
checkout serves development, the test suite and production alike.  Settings that
are clinical conventions (follow-up schedules, retreatment thresholds) are not
here: they live in database tables that admins edit.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ENV_PREFIX = "TRACKER_"


class ConfigurationError(RuntimeError):
    """The application cannot start with the configuration it was given."""


def _as_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


# name -> (default, parser).  The environment variable is TRACKER_<name>.
SETTINGS: dict[str, tuple[Any, Any]] = {
    "ENV": ("development", str),
    "DATABASE_URL": (None, str),
    "SECRET_KEY": (None, str),
    # Key of the audit trail's MACs, kept outside the database (required in
    # production): without it, someone who can write to the database cannot
    # forge or re-chain entries undetected.
    "AUDIT_KEY": (None, str),
    # E-mail each day's audit checkpoint to the active administrators too: a copy
    # of the trail's head in their mailboxes, out of reach of the servers.
    "AUDIT_CHECKPOINT_MAIL": (False, _as_bool),
    "TIMEZONE": ("Europe/Paris", str),
    "DEFAULT_LOCALE": ("en", str),
    "LOG_LEVEL": ("INFO", str),
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    "ARGON2_TIME_COST": (3, int),
    "ARGON2_MEMORY_COST": (65536, int),
    "ARGON2_PARALLELISM": (4, int),
    "PASSWORD_MIN_LENGTH": (12, int),
    "SESSION_COOKIE_SECURE": (None, _as_bool),
    "PER_PAGE": (25, int),
    # Outgoing mail; with no host, messages wait in the outbox (visible to admins).
    "MAIL_HOST": (None, str),
    "MAIL_PORT": (25, int),
    "MAIL_SECURITY": ("none", str),
    "MAIL_USER": (None, str),
    "MAIL_PASSWORD": (None, str),
    "MAIL_SENDER": ("rcp-tracker@localhost", str),
    # The address users open the application at, for links in e-mails.
    "BASE_URL": ("http://127.0.0.1:5000", str),
    # SQLite backups made by the scheduler.
    "BACKUP_DIR": (None, str),
    "BACKUP_KEEP_DAYS": (14, int),
    # Key of the pseudonymised exports' hashes and date shifts; derived from the
    # secret key when not set (set it to keep pseudonyms across key rotations).
    "PSEUDONYM_KEY": (None, str),
    # Patient-reported follow-up: the team named in the messages to patients, the
    # address the patient pages are reached at (when served apart, in a DMZ), and
    # the hospital's HTTP SMS gateway (no URL: no text messages).
    "TEAM_NAME": (None, str),
    "PATIENT_BASE_URL": (None, str),
    "SMS_URL": (None, str),
    "SMS_TOKEN": (None, str),
    "SMS_TIMEOUT": (10, int),
    # Reverse proxies in front of the application whose X-Forwarded-For and
    # X-Forwarded-Proto are trusted (0: none; 1: one proxy, the usual case).
    "PROXY_HOPS": (0, int),
    # Hospital patient identifiers (MRN): a regular expression the whole value matches.
    "MRN_PATTERN": (r"[A-Za-z0-9]{4,20}", str),
    # The letterhead of the documents that leave the meeting (decision sheet,
    # printed agenda): names, postal address, and a PNG or JPEG file on the server.
    "HOSPITAL_NAME": (None, str),
    "UNIT_NAME": (None, str),
    "UNIT_ADDRESS": (None, str),
    "LOGO_PATH": (None, str),
    # The system URI of the hospital's patient identifiers in FHIR resources
    # (Patient.identifier.system); empty: <BASE_URL>/fhir/sid/mrn.
    "FHIR_IDENTIFIER_SYSTEM": (None, str),
    # The hospital's FHIR server, searched by hospital number to start a referral
    # from the record (GET <url>/Patient?identifier=...); empty: no search.
    "FHIR_SOURCE_URL": (None, str),
    "FHIR_SOURCE_TIMEOUT": (10, int),
    # The hospital directory (LDAP or Active Directory) for logins; no URL: local
    # accounts only.  ldap://host (with LDAP_START_TLS) or ldaps://host; the
    # search account (bind DN and password) finds the person under LDAP_USER_BASE
    # with LDAP_USER_FILTER, where {login} is what they typed (escaped).
    "LDAP_URL": (None, str),
    "LDAP_START_TLS": (False, _as_bool),
    "LDAP_CA_FILE": (None, str),
    "LDAP_BIND_DN": (None, str),
    "LDAP_BIND_PASSWORD": (None, str),
    "LDAP_USER_BASE": (None, str),
    "LDAP_USER_FILTER": ("(|(uid={login})(mail={login}))", str),
    "LDAP_EMAIL_ATTRIBUTE": ("mail", str),
    "LDAP_NAME_ATTRIBUTE": ("cn", str),
    # userAccountControl (Active Directory: bit 2 means disabled) or an attribute
    # whose value TRUE/yes/disabled means so; empty: none.
    "LDAP_DISABLED_ATTRIBUTE": (None, str),
    # Groups: the person's memberOf attribute (LDAP_GROUP_ATTRIBUTE=memberOf), or
    # a search under LDAP_GROUP_BASE of the groups whose member is the person.
    "LDAP_GROUP_BASE": (None, str),
    "LDAP_GROUP_ATTRIBUTE": (None, str),
    "LDAP_GROUP_MEMBER_ATTRIBUTE": ("member", str),
    "LDAP_TIMEOUT": (5, int),
    # With a directory: the e-mails of the local accounts (break-glass
    # administrators) that may still log in with a local password, comma-separated;
    # empty: every local account may.
    "LOCAL_LOGIN_ONLY": (None, str),
}

LANGUAGES = {"en": "English", "fr": "Français"}


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the settings from ``environ`` (the process environment by default)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = environ.get(ENV_PREFIX + name)
        if raw is None or raw == "":
            values[name] = default
            continue
        try:
            values[name] = parse(raw)
        except ValueError as exc:
            raise ConfigurationError(f"{ENV_PREFIX}{name}={raw!r} is not valid: {exc}") from exc
    return values


def _development_secret_key(instance_path: Path) -> str:
    """A key generated once per checkout and kept in ``instance/``."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    logger.info("Generated a development secret key in %s", key_file)
    return key


#: The audit key of a development checkout: public, so it protects nothing.
DEVELOPMENT_AUDIT_KEY = "development-only-audit-key"
TESTING_AUDIT_KEY = "testing-only-audit-key"


def _audit_key(value: str | None, env: str) -> str:
    if value:
        if env == "production" and value in {DEVELOPMENT_AUDIT_KEY, TESTING_AUDIT_KEY}:
            raise ConfigurationError(
                "TRACKER_AUDIT_KEY is a development or testing key: production needs its own."
            )
        return value
    if env == "testing":
        return TESTING_AUDIT_KEY
    if env == "production":
        raise ConfigurationError(
            "TRACKER_AUDIT_KEY is not set. In production the audit trail's key must be given "
            "in the environment and kept outside the database and its backups (for example: "
            "TRACKER_AUDIT_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))."
        )
    logger.warning(
        "TRACKER_AUDIT_KEY is not set: the audit trail is keyed with a public development "
        "key, which protects nothing. Set TRACKER_AUDIT_KEY outside development."
    )
    return DEVELOPMENT_AUDIT_KEY


def build_config(instance_path: str, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The Flask configuration for this process."""
    settings = load_settings(environ)
    env = settings["ENV"]
    if env not in {"development", "production", "testing"}:
        raise ConfigurationError(
            f"{ENV_PREFIX}ENV must be development, production or testing, not {env!r}."
        )
    production = env == "production"
    instance = Path(instance_path)

    secret_key = settings["SECRET_KEY"]
    if not secret_key:
        if env == "testing":
            secret_key = "testing-only-secret-key"  # noqa: S105
        elif production:
            raise ConfigurationError(
                "TRACKER_SECRET_KEY is not set. In production the secret key must be given "
                "in the environment (for example: "
                "TRACKER_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))'))."
            )
        else:
            secret_key = _development_secret_key(instance)

    audit_key = _audit_key(settings["AUDIT_KEY"], env)

    if settings["MAIL_SECURITY"] not in {"none", "starttls", "ssl"}:
        raise ConfigurationError(
            f"{ENV_PREFIX}MAIL_SECURITY must be none, starttls or ssl, "
            f"not {settings['MAIL_SECURITY']!r}."
        )
    database_url = settings["DATABASE_URL"] or f"sqlite:///{instance / 'tracker.db'}"
    secure_cookies = settings["SESSION_COOKIE_SECURE"]
    if secure_cookies is None:
        secure_cookies = production

    return {
        "TRACKER_ENV": env,
        "SECRET_KEY": secret_key,
        "AUDIT_KEY": audit_key,
        "AUDIT_CHECKPOINT_MAIL": settings["AUDIT_CHECKPOINT_MAIL"],
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "TIMEZONE": settings["TIMEZONE"],
        "BABEL_DEFAULT_TIMEZONE": settings["TIMEZONE"],
        "BABEL_DEFAULT_LOCALE": settings["DEFAULT_LOCALE"],
        "LANGUAGES": LANGUAGES,
        "LOG_LEVEL": settings["LOG_LEVEL"],
        "ARGON2_TIME_COST": settings["ARGON2_TIME_COST"],
        "ARGON2_MEMORY_COST": settings["ARGON2_MEMORY_COST"],
        "ARGON2_PARALLELISM": settings["ARGON2_PARALLELISM"],
        "PASSWORD_MIN_LENGTH": settings["PASSWORD_MIN_LENGTH"],
        "PER_PAGE": settings["PER_PAGE"],
        "MRN_PATTERN": settings["MRN_PATTERN"],
        "PSEUDONYM_KEY": settings["PSEUDONYM_KEY"],
        "MAIL_HOST": settings["MAIL_HOST"],
        "MAIL_PORT": settings["MAIL_PORT"],
        "MAIL_SECURITY": settings["MAIL_SECURITY"],
        "MAIL_USER": settings["MAIL_USER"],
        "MAIL_PASSWORD": settings["MAIL_PASSWORD"],
        "MAIL_SENDER": settings["MAIL_SENDER"],
        "BASE_URL": settings["BASE_URL"].rstrip("/"),
        "TEAM_NAME": settings["TEAM_NAME"],
        "HOSPITAL_NAME": settings["HOSPITAL_NAME"],
        "UNIT_NAME": settings["UNIT_NAME"],
        "UNIT_ADDRESS": settings["UNIT_ADDRESS"],
        "LOGO_PATH": settings["LOGO_PATH"],
        "FHIR_IDENTIFIER_SYSTEM": settings["FHIR_IDENTIFIER_SYSTEM"],
        "FHIR_SOURCE_URL": (settings["FHIR_SOURCE_URL"] or "").rstrip("/") or None,
        "FHIR_SOURCE_TIMEOUT": settings["FHIR_SOURCE_TIMEOUT"],
        "PATIENT_BASE_URL": (settings["PATIENT_BASE_URL"] or "").rstrip("/") or None,
        "PROXY_HOPS": settings["PROXY_HOPS"],
        "SMS_URL": settings["SMS_URL"],
        "SMS_TOKEN": settings["SMS_TOKEN"],
        "SMS_TIMEOUT": settings["SMS_TIMEOUT"],
        "BACKUP_DIR": settings["BACKUP_DIR"] or str(instance / "backups"),
        "BACKUP_KEEP_DAYS": settings["BACKUP_KEEP_DAYS"],
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "rcp_session",
        # Shared ward computers: no 365-day remember-me cookie.
        "REMEMBER_COOKIE_DURATION": timedelta(hours=12),
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        # A meeting-mode form may stay open for hours: the token lives as long as
        # the session instead of expiring after one hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        **{name: settings[name] for name in SETTINGS if name.startswith("LDAP_")},
        "LOCAL_LOGIN_ONLY": sorted(
            {
                e.strip().lower()
                for e in (settings["LOCAL_LOGIN_ONLY"] or "").split(",")
                if e.strip()
            }
        ),
    }

"""Registering, revoking and recognising the FHIR API's clients."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from tracker.auth.models import User
from tracker.core.errors import DomainError, Forbidden
from tracker.core.time import site_timezone, utcnow
from tracker.extensions import db
from tracker.fhir.models import ApiClient
from tracker.web.permissions import Role, has_role

logger = logging.getLogger(__name__)

#: The resources the API serves, each readable under the scope system/<type>.read.
RESOURCE_TYPES = (
    "Patient",
    "ServiceRequest",
    "Condition",
    "Observation",
    "Procedure",
    "CarePlan",
    "AdverseEvent",
    "Composition",
    "DocumentReference",
    "QuestionnaireResponse",
)
ALL_SCOPE = "system/*.read"
SCOPES = (*(f"system/{kind}.read" for kind in RESOURCE_TYPES), ALL_SCOPE)
#: A token lasts at most this long: a forgotten client stops by itself.
MAX_DAYS = 730
TOKEN_PREFIX = "rcpf_"  # noqa: S105 - tells a token apart, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_client(
    *, name: str, scopes: list[str], expires_on: date, by: User | None
) -> tuple[ApiClient, str]:
    """A new client and its token, which is returned here and never again."""
    if by is not None and not has_role(by, Role.ADMIN):
        raise Forbidden()
    name = name.strip()
    if not name:
        raise DomainError(_l("Give the client a name."), "name")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown or not scopes:
        raise DomainError(_l("Choose at least one of the scopes offered."), "scopes")
    taken = select(ApiClient.id).where(func.lower(ApiClient.name) == name.lower())
    if db.session.scalar(taken) is not None:
        raise DomainError(_l("Another client already has this name."), "name")
    now = utcnow()
    today = now.astimezone(site_timezone()).date()
    if not today < expires_on <= today + timedelta(days=MAX_DAYS):
        raise DomainError(
            _l("Choose an end date within the next %(days)s days.", days=MAX_DAYS), "expires_on"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        name=name,
        scopes=sorted(set(scopes), key=SCOPES.index),
        token_hash=token_hash(token),
        # The token works through its last day, in the site's time zone.
        expires_at=datetime.combine(expires_on + timedelta(days=1), time(), tzinfo=site_timezone()),
        created_at=now,
        created_by_id=by.id if by is not None else None,
    )
    db.session.add(client)
    db.session.flush()
    return client, token


def revoke_client(client: ApiClient, *, by: User | None) -> None:
    if by is not None and not has_role(by, Role.ADMIN):
        raise Forbidden()
    if client.revoked_at is not None:
        raise DomainError(_l("This client's token no longer works already."))
    client.revoked_at = utcnow()
    client.revoked_by_id = by.id if by is not None else None
    db.session.flush()


def client_for_token(token: str) -> ApiClient | None:
    """The client holding ``token``, if it is still valid (not revoked, not expired)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    client = db.session.scalar(select(ApiClient).where(ApiClient.token_hash == token_hash(token)))
    if client is None or not client.is_usable(utcnow()):
        return None
    return client


def all_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.name)))

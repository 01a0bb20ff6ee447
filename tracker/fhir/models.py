"""Systems allowed to read the FHIR API: registered by admins, with scopes."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.audit import Audited
from tracker.core.time import to_local, utcnow
from tracker.extensions import Model


class ApiClient(Audited, Model):
    """A system (the hospital record, a data warehouse...) that reads the FHIR API
    with a bearer token. The token is shown once when made; only its SHA-256 is
    kept (a random 256-bit token needs no slow hash)."""

    __audit_label__ = _l("FHIR API client")

    __tablename__ = "fhir_api_clients"
    __audit_secret__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    #: SMART-style scopes, e.g. ["system/Observation.read"].
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token works until then (UTC).
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def works_through(self) -> date:
        """The token's last day, in the site's time zone (it ends at that midnight)."""
        return (to_local(self.expires_at) - timedelta(microseconds=1)).date()

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def allows(self, resource_type: str) -> bool:
        return f"system/{resource_type}.read" in self.scopes or "system/*.read" in self.scopes

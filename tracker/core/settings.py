"""Site settings: the conventions of a unit that admins may change.

DOMAIN figures that are conventions rather than rules (how many specialties
make a quorum, how many minutes a case takes...) are settings with these
defaults, declared by the feature that uses them and edited on one admin page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, mapped_column

from tracker.core.audit import Audited
from tracker.core.audit_trail import changes_since
from tracker.core.errors import DomainError
from tracker.core.locking import EditConflict, Versioned
from tracker.extensions import Model, db

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingSpec:
    """One setting, declared in its feature's ``settings.py`` and read as
    ``SPEC.value``; the feature lists it on ``signals.settings`` so that it
    appears on the settings page."""

    key: str
    default: int | float
    minimum: int | float
    maximum: int | float
    label: Any
    help: Any = None
    #: ``int`` or ``float``.
    kind: type = int

    def __post_init__(self) -> None:
        if not self.minimum <= self.default <= self.maximum:
            raise ValueError(f"default of {self.key} outside its range")

    @property
    def value(self) -> Any:
        """The site's value, or the default when none (or an unusable one) is stored."""
        value = _stored().get(self.key, self.default)
        try:
            value = self.kind(value)
        except (TypeError, ValueError):
            logger.warning("Setting %s holds %r: using the default", self.key, value)
            return self.default
        return value if self.minimum <= value <= self.maximum else self.default


class SiteSetting(Audited, Versioned, Model):
    """A setting changed from its default."""

    __audit_label__ = _l("Site setting")

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


def _stored() -> dict[str, Any]:
    """All stored settings, read once per application context."""
    if "_site_settings" not in g:
        g._site_settings = {row.key: row.value for row in db.session.scalars(select(SiteSetting))}
    return g._site_settings


def set_setting(spec: SettingSpec, value: int | float) -> None:
    key = spec.key
    if not spec.minimum <= value <= spec.maximum:
        raise DomainError(
            _l("Choose a value from %(low)s to %(high)s.", low=spec.minimum, high=spec.maximum),
            key,
        )
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value))
    elif row.value != value:
        row.value = value
    db.session.flush()
    _stored()[key] = value


def settings_version() -> str:
    """The version of the settings as a whole, for the settings form: each
    stored setting's key and version ("0" when none is stored yet)."""
    rows = db.session.scalars(select(SiteSetting).order_by(SiteSetting.key))
    return ",".join(f"{row.key}:{row.version}" for row in rows) or "0"


def _read_settings_version(sent: str | None) -> dict[str, int] | None:
    if sent == "0":
        return {}
    versions: dict[str, int] = {}
    for part in (sent or "").split(","):
        key, _, version = part.partition(":")
        if not key or not version.isascii() or not version.isdigit() or len(version) > 10:
            return None
        versions[key] = int(version)
    return versions


def check_settings_version(sent: str | None) -> None:
    """Refuse a save of the settings form made before someone else saved one
    of the settings; a form that does not say which versions it was made from
    is refused too (see ``tracker.core.locking``)."""
    expected = _read_settings_version(sent)
    rows = {row.key: row for row in db.session.scalars(select(SiteSetting))}
    if expected is None:
        raise EditConflict([])
    stale = sorted(key for key, row in rows.items() if row.version != expected.get(key, 0))
    if stale:
        raise EditConflict(
            [
                change
                for key in stale
                for change in changes_since("SiteSetting", key, expected.get(key, 0))
            ]
        )

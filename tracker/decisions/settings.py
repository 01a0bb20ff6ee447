"""Settings of decisions and procedures."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

CONSENT_REQUIRED = SettingSpec(
    key="consent_required",
    default=1,
    minimum=0,
    maximum=1,
    label=_l("A procedure needs the patient's consent recorded first (1: required, 0: warn)"),
    help=_l(
        "With 0, a procedure without a recorded consent can be recorded with the reason, "
        "and a warning."
    ),
)

PENDING_DAYS = SettingSpec(
    key="implementation_pending_days",
    default=60,
    minimum=7,
    maximum=365,
    label=_l("Days after which a proposed procedure still pending is flagged to the referrer"),
    help=_l(
        "The referrer is told once per proposal. The implementation rate of the outcomes "
        "page counts the proposals at least this old."
    ),
)

#: Shown on the settings page, in this order.
ALL = (CONSENT_REQUIRED, PENDING_DAYS)

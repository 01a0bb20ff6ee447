"""Settings of referrals."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

DRAFT_DAYS = SettingSpec(
    key="draft_reminder_days",
    default=7,
    minimum=1,
    maximum=90,
    label=_l("Remind the referrer of a draft left this many days"),
)

#: Shown on the settings page, in this order.
ALL = (DRAFT_DAYS,)

"""Settings of logins."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

SESSION_IDLE_MINUTES = SettingSpec(
    key="session_idle_minutes",
    default=30,
    minimum=5,
    maximum=240,
    label=_l("Minutes without activity after which a login ends"),
    help=_l("Applies to logins opened after the change."),
)

SESSION_MAX_HOURS = SettingSpec(
    key="session_max_hours",
    default=12,
    minimum=1,
    maximum=24,
    label=_l("Hours after which a login ends however active"),
    help=_l("Applies to logins opened after the change."),
)

ADMIN_SECOND_FACTOR = SettingSpec(
    key="admin_second_factor_required",
    default=0,
    minimum=0,
    maximum=1,
    label=_l("Administrators must log in with a second factor (1: required, 0: optional)"),
    help=_l(
        "With 1, an administrator without one is taken to set it up at the next login "
        "and cannot turn it off."
    ),
)

#: Shown on the settings page, in this order.
ALL = (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS, ADMIN_SECOND_FACTOR)

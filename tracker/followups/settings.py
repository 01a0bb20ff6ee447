"""Settings of follow-up: the nerve regrowth estimates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

REGROWTH_FAST = SettingSpec(
    key="regrowth_fast_mm_per_day",
    default=3.0,
    minimum=0.1,
    maximum=10.0,
    kind=float,
    label=_l("Nerve regrowth, fast estimate (mm per day)"),
    help=_l("About 1 to 3 mm a day (secondary sources): the early edge of the window."),
)

REGROWTH_SLOW = SettingSpec(
    key="regrowth_slow_mm_per_day",
    default=1.0,
    minimum=0.1,
    maximum=10.0,
    kind=float,
    label=_l("Nerve regrowth, slow estimate (mm per day)"),
    help=_l("The late edge of the expected window of recurrence."),
)

#: Shown on the settings page, in this order.
ALL = (REGROWTH_FAST, REGROWTH_SLOW)

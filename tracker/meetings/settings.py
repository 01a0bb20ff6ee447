"""Settings of meetings: quorum, agenda, reminders and roll-over."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

QUORUM_MINIMUM = SettingSpec(
    key="quorum_min_specialties",
    default=3,
    minimum=1,
    maximum=12,
    label=_l("Quorum: distinct physician specialties present"),
    help=_l("The HAS method asks for at least 3 physicians of different specialties."),
)

CASE_MINUTES = SettingSpec(
    key="default_case_minutes",
    default=10,
    minimum=1,
    maximum=120,
    label=_l("Minutes per case on a new agenda item"),
)

REMINDER_DAYS = SettingSpec(
    key="meeting_reminder_days",
    default=2,
    minimum=0,
    maximum=14,
    label=_l("Remind presenters and team this many days before a meeting"),
)

ROLLOVER_HOURS = SettingSpec(
    key="meeting_rollover_hours",
    default=3,
    minimum=1,
    maximum=72,
    label=_l("Hours after a meeting's end before its undiscussed cases roll over"),
    help=_l("If the coordinator has not marked the meeting held by then."),
)

#: Shown on the settings page, in this order.
ALL = (QUORUM_MINIMUM, CASE_MINUTES, REMINDER_DAYS, ROLLOVER_HOURS)

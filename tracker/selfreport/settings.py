"""Settings of patient-reported follow-up (DOMAIN "Patient-reported follow-up")."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

FIRST_REMINDER_DAYS = SettingSpec(
    key="selfreport_first_reminder_days",
    default=2,
    minimum=1,
    maximum=30,
    label=_l("Patient questionnaire: first reminder (days after the invitation)"),
)

SECOND_REMINDER_DAYS = SettingSpec(
    key="selfreport_second_reminder_days",
    default=5,
    minimum=1,
    maximum=60,
    label=_l("Patient questionnaire: second reminder (days after the invitation)"),
    help=_l("At most two reminders, only while the window is open and nothing was answered."),
)

LINK_DAYS = SettingSpec(
    key="selfreport_link_days",
    default=30,
    minimum=1,
    maximum=90,
    label=_l("Patient questionnaire: a link works at most (days)"),
    help=_l("And never after its time point's window has closed."),
)

BIRTH_DATE_TRIES = SettingSpec(
    key="selfreport_birth_date_tries",
    default=5,
    minimum=3,
    maximum=10,
    label=_l("Patient questionnaire: wrong birth dates before the link is locked"),
)


def reminder_days() -> tuple[int, ...]:
    """Days after the invitation when reminders go, in order."""
    return tuple(sorted({FIRST_REMINDER_DAYS.value, SECOND_REMINDER_DAYS.value}))


#: Shown on the settings page, in this order.
ALL = (FIRST_REMINDER_DAYS, SECOND_REMINDER_DAYS, LINK_DAYS, BIRTH_DATE_TRIES)

"""Settings of the outcomes and of the evidence shown at the moment of decision."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from tracker.core.settings import SettingSpec

EVIDENCE_MINIMUM = SettingSpec(
    key="evidence_minimum_patients",
    default=10,
    minimum=1,
    maximum=1000,
    label=_l("Patients needed before the unit's results are shown beside a plan"),
    help=_l(
        "Below this number of patients treated with the technique, meeting mode says "
        "there are too few patients to say."
    ),
)

#: Shown on the settings page, in this order.
ALL = (EVIDENCE_MINIMUM,)

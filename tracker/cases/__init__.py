"""Patients and referrals: the cases put to the meeting."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.home import HomePanel
from tracker.web.navigation import NavItem
from tracker.web.permissions import Role


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.cases.contact import phone_display
    from tracker.cases.views import bp

    app.register_blueprint(bp)
    # {{ patient.phone_1 | phone_display }}: "06 12 34 56 78", "+44 20 7946 0958"
    # (every page that shows a patient's number: the case page, the worklist).
    app.add_template_filter(phone_display, "phone_display")


@signals.menu_items.connect
def _menu(sender: Any) -> list[NavItem]:
    return [
        NavItem("cases.index", _l("Cases"), 100),
        NavItem("cases.create", _l("Refer a case"), 110),
    ]


@signals.home_panels.connect
def _home(sender: Any) -> list[HomePanel]:
    from tracker.cases.views import coordinator_panel, referrer_panel

    return [
        HomePanel(Role.COORDINATOR, 10, "cases/home_coordinator.html", coordinator_panel),
        HomePanel(Role.RADIOLOGIST, 20, "cases/home_referrer.html", referrer_panel),
        HomePanel(Role.CLINICIAN, 20, "cases/home_referrer.html", referrer_panel),
    ]


@signals.timeline_providers.connect
def _timeline(sender: Any) -> Any:
    from tracker.cases.timeline import case_events

    return case_events


@signals.field_labels.connect
def _labels(sender: Any) -> list[tuple[str, Any]]:
    from tracker.cases.forms import CONSENT_LABELS, ContactFields, PatientFields, ReferralFields
    from tracker.cases.rules import FIELD_LABELS

    return [
        ("Referral", ReferralFields),
        ("Referral", FIELD_LABELS),
        ("Patient", PatientFields),
        ("Patient", ContactFields),
        ("Patient", CONSENT_LABELS),
    ]


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

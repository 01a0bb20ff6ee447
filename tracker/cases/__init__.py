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
    from tracker.cases.views import bp

    app.register_blueprint(bp)


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
    from tracker.cases.forms import PatientFields, ReferralFields
    from tracker.cases.rules import FIELD_LABELS

    return [("Referral", ReferralFields), ("Referral", FIELD_LABELS), ("Patient", PatientFields)]


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

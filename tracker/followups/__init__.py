"""Follow-up after a procedure: schedules, assessments, retreatment."""

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
    from tracker.followups.views import bp

    app.register_blueprint(bp)


@signals.menu_items.connect
def _menu(sender: Any) -> NavItem:
    return NavItem("followups.worklist", _l("Follow-up"), 300)


@signals.home_panels.connect
def _home(sender: Any) -> list[HomePanel]:
    from tracker.followups.views import clinician_panel, eligible_panel

    return [
        HomePanel(Role.CLINICIAN, 1, "followups/home_clinician.html", clinician_panel),
        HomePanel(Role.RADIOLOGIST, 25, "followups/home_eligible.html", eligible_panel),
        HomePanel(Role.CLINICIAN, 2, "followups/home_eligible.html", eligible_panel),
    ]


@signals.case_sections.connect
def _case_page(sender: Any) -> Any:
    from tracker.cases.sections import CaseSection
    from tracker.followups.views import case_section, case_summary

    return CaseSection(20, "followups/case_section.html", case_section, case_summary)


@signals.timeline_providers.connect
def _timeline(sender: Any) -> Any:
    from tracker.followups.timeline import followup_events

    return followup_events


@signals.field_labels.connect
def _labels(sender: Any) -> tuple[str, Any]:
    from tracker.followups.forms import AssessmentForm

    return ("Assessment", AssessmentForm)


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

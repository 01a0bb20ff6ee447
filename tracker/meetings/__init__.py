"""RCP meetings: calendar, agendas, attendance and quorum."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.home import HomePanel
from tracker.web.navigation import ACCOUNT, NavItem
from tracker.web.permissions import Role


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.meetings.views import bp

    app.register_blueprint(bp)


@signals.menu_items.connect
def _menu(sender: Any) -> list[NavItem]:
    return [
        NavItem("meetings.index", _l("Meetings"), 200),
        NavItem("meetings.calendar_settings", _l("My calendar"), 810, ACCOUNT),
    ]


@signals.home_panels.connect
def _home(sender: Any) -> list[HomePanel]:
    from tracker.meetings.views import coordinator_panel, radiologist_panel

    return [
        HomePanel(Role.RADIOLOGIST, 15, "meetings/home_radiologist.html", radiologist_panel),
        HomePanel(Role.COORDINATOR, 5, "meetings/home_coordinator.html", coordinator_panel),
    ]


@signals.timeline_providers.connect
def _timeline(sender: Any) -> Any:
    from tracker.meetings.timeline import agenda_events

    return agenda_events


@signals.case_sections.connect
def _case_page(sender: Any) -> Any:
    from tracker.cases.sections import CaseSection
    from tracker.meetings.case_header import case_context, case_summary

    return CaseSection(5, None, case_context, case_summary)


@signals.field_labels.connect
def _labels(sender: Any) -> list[tuple[str, Any]]:
    from tracker.meetings.forms import MeetingForm, SeriesForm

    return [
        ("Meeting", MeetingForm),
        ("MeetingSeries", SeriesForm),
        (
            "CalendarFeed",
            {
                "user_id": _l("Account"),
                "token_hash": _l("Secret address"),
                "created_at": _l("Created on"),
            },
        ),
    ]


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

"""Outcomes: what works for whom, how long relief lasts, and the data exports."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.navigation import NavItem


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.outcomes.views import bp

    app.register_blueprint(bp)


@signals.menu_items.connect
def _menu(sender: Any) -> NavItem:
    return NavItem("outcomes.index", _l("Outcomes"), 400)


@signals.plan_asides.connect
def _evidence(sender: Any) -> Any:
    from tracker.decisions.asides import PlanAside
    from tracker.outcomes.evidence import plan_aside

    return PlanAside(10, "outcomes/_evidence.html", plan_aside)


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

"""Keeping the site running: settings, background jobs, the audit trail viewer."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.navigation import ADMIN, NavItem


@signals.app_created.connect
def _blueprints(app: Flask) -> None:
    from tracker.admin.audit_views import bp as audit_bp
    from tracker.admin.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(audit_bp)


@signals.menu_items.connect
def _menu(sender: Any) -> list[NavItem]:
    return [
        NavItem("admin.settings", _l("Settings"), 920, ADMIN),
        NavItem("admin.jobs", _l("Background jobs"), 930, ADMIN),
        NavItem("audit.index", _l("Audit trail"), 940, ADMIN),
    ]


signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

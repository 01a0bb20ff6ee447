"""Accounts, roles and logins: who may open RCP Tracker, and how."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.extensions import login_manager
from tracker.web.home import HomePanel
from tracker.web.navigation import ACCOUNT, ADMIN, NavItem
from tracker.web.permissions import Role


@signals.app_created.connect
def _wire(app: Flask) -> None:
    from tracker.auth.services import load_session_user
    from tracker.auth.views import bp, require_enrolment, unauthorized

    app.register_blueprint(bp)
    app.before_request(require_enrolment)
    login_manager.user_loader(load_session_user)
    login_manager.unauthorized_handler(unauthorized)


@signals.menu_items.connect
def _menu(sender: Any) -> list[NavItem]:
    return [
        NavItem("auth.users", _l("Users"), 900, ADMIN),
        NavItem("auth.directory_groups", _l("Directory groups"), 901, ADMIN),
        NavItem("auth.profile", _l("My profile"), 790, ACCOUNT),
        NavItem("auth.notifications", _l("My e-mails"), 800, ACCOUNT),
        NavItem("auth.password", _l("Change my password"), 820, ACCOUNT),
        NavItem("auth.second_factor_page", _l("Second factor"), 825, ACCOUNT),
        NavItem("auth.sessions", _l("My login sessions"), 830, ACCOUNT),
    ]


@signals.home_panels.connect
def _home(sender: Any) -> list[HomePanel]:
    from tracker.auth.views import admin_panel, throttle_panel

    return [
        HomePanel(Role.ADMIN, 90, "auth/home_admin.html", admin_panel),
        HomePanel(Role.ADMIN, 91, "auth/home_throttle.html", throttle_panel),
    ]


@signals.field_labels.connect
def _labels(sender: Any) -> tuple[str, Any]:
    from tracker.auth.forms import UserCreateForm

    return ("User", UserCreateForm)


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

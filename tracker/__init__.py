"""RCP Tracker: multidisciplinary pain-case meetings in interventional radiology."""

from __future__ import annotations

import logging
import os
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from flask import Flask, has_request_context, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.config import build_config
from tracker.core import signals
from tracker.extensions import babel, csrf, db, login_manager, migrate

logger = logging.getLogger(__name__)


def select_locale() -> str | None:
    """The user's chosen language, else the remembered one, else the browser's."""
    from flask import current_app

    from tracker.web.pages import LANGUAGE_COOKIE

    if not has_request_context():
        return None
    if request.blueprint == "patient" or current_app.config.get("PATIENT_ONLY"):
        # The patient pages: the patient's own language, never a staff account's.
        from tracker.selfreport.patient import patient_locale

        return patient_locale()
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(list(languages))


def create_app(test_config: dict[str, Any] | None = None, *, patient_only: bool = False) -> Flask:
    """The application factory: ``flask --app tracker`` finds it by name. With
    ``patient_only``, the application serves the patient pages and nothing else
    (``wsgi_patient.py``: what a hospital may expose outside its closed network)."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("TRACKER_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_mapping(build_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    logging.basicConfig(
        level=app.config["LOG_LEVEL"],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)

    if app.config.get("PROXY_HOPS"):
        # Behind the hospital's reverse proxy: the client's own address (rate
        # limits, login lockout) and scheme, as the proxy says them.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    load_features()
    from tracker.web.handlers import RecordId

    app.url_map.converters["int"] = RecordId
    if patient_only:
        return _patient_app(app)
    from tracker.web.pages import bp as pages_bp

    app.register_blueprint(pages_bp)
    # Each feature registers its blueprint; its menu items, panels, settings,
    # jobs... are asked for when first needed.
    signals.app_created.send(app)
    _register_hooks(app)

    from tracker.cli import register_commands

    register_commands(app)
    return app


def _patient_app(app: Flask) -> Flask:
    """Only the patient pages (and their stylesheets): no login, no staff page."""
    from tracker.core.afterwards import run_writes_after_response
    from tracker.core.reads import record_reads
    from tracker.selfreport.patient import bp as patient_bp
    from tracker.selfreport.patient import patient_error, patient_headers
    from tracker.web.headers import add_security_headers
    from tracker.web.permissions import without_staff_login

    app.config["PATIENT_ONLY"] = True
    app.register_blueprint(patient_bp)
    app.before_request(without_staff_login)
    app.after_request(run_writes_after_response)
    app.after_request(record_reads)
    app.after_request(add_security_headers)
    # After the line above, so it runs before it: its headers are kept.
    app.after_request(patient_headers)
    app.register_error_handler(HTTPException, patient_error)
    app.add_template_filter(lambda value: format_date_short(value), "date")

    @app.context_processor
    def inject_shell() -> dict[str, Any]:
        from flask_babel import get_locale

        return {
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": app.config["LANGUAGES"],
        }

    return app


def format_date_short(value: Any) -> str:
    from tracker.core.i18n import day_text

    return day_text(value, "d MMM y")


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


#: The features RCP Tracker is made of. Each wires itself in from its own
#: ``__init__.py`` through ``tracker.core.signals``; their order is the order of
#: their blueprints.
FEATURES = (
    "tracker.auth",
    "tracker.admin",
    "tracker.catalogue",
    "tracker.cases",
    "tracker.meetings",
    "tracker.decisions",
    "tracker.followups",
    "tracker.selfreport",
    "tracker.outcomes",
    "tracker.fhir",
)

#: Infrastructure that keeps tables of its own.
CORE_MODELS = (
    "tracker.core.audit",
    "tracker.core.mail",
    "tracker.core.once",
    "tracker.core.scheduler",
    "tracker.core.settings",
)


def load_features() -> None:
    """Import every feature, and every module that declares tables, so that the
    metadata (which Alembic compares with the migrations) is complete."""
    for name in CORE_MODELS:
        import_module(name)
    for name in FEATURES:
        import_module(name)
        if find_spec(f"{name}.models") is not None:
            import_module(f"{name}.models")


def _register_hooks(app: Flask) -> None:
    from flask_babel import format_date, get_locale

    from tracker.core.address import agreed, label_for
    from tracker.core.afterwards import run_writes_after_response
    from tracker.core.i18n import clock_time, day_text, typography
    from tracker.core.numbers import percent
    from tracker.core.reads import record_reads
    from tracker.web import pages
    from tracker.web.handlers import current_path
    from tracker.web.headers import add_security_headers
    from tracker.web.navigation import nav_for
    from tracker.web.permissions import Role, enforce_access

    app.before_request(enforce_access)
    app.after_request(run_writes_after_response)
    app.after_request(record_reads)
    app.after_request(add_security_headers)

    app.register_error_handler(CSRFError, pages.handle_csrf_error)
    app.register_error_handler(HTTPException, pages.handle_http_error)
    app.register_error_handler(500, pages.handle_server_error)

    app.jinja_env.globals["current_path"] = current_path
    app.jinja_env.globals["label_for"] = label_for
    app.jinja_env.globals["agreed"] = agreed
    # Day before month in both languages, and a 24-hour clock: never 11/12 ambiguity.
    app.add_template_filter(lambda value: day_text(value, "d MMM y"), "date")
    app.add_template_filter(lambda value: day_text(value, "d MMM y, HH:mm"), "datetime")
    app.add_template_filter(clock_time, "time")
    app.add_template_filter(lambda value: format_date(value, "LLLL y"), "format_month")
    app.add_template_filter(lambda value: format_date(value, "EEE"), "weekday")
    # {{ count|percent(of=total) }}: every percentage, rounded half up from the exact share.
    app.add_template_filter(percent, "percent")
    # French text built from data (not from the catalogue, which is already set):
    # the reader's language's typography, e.g. "{{ _('...')|format(...)|typo }}".
    app.add_template_filter(typography, "typo")

    @app.context_processor
    def inject_shell() -> dict[str, Any]:
        return {
            "nav_items": nav_for(current_user),
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": app.config["LANGUAGES"],
            "Role": Role,
        }

"""RCP Tracker: multidisciplinary pain-case meetings in interventional radiology."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, has_request_context, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from tracker.config import build_config
from tracker.extensions import babel, csrf, db, login_manager, migrate

logger = logging.getLogger(__name__)


def select_locale() -> str | None:
    """The user's chosen language, else the remembered one, else the browser's."""
    from flask import current_app

    from tracker.core.views import LANGUAGE_COOKIE

    if not has_request_context():
        return None
    languages = current_app.config["LANGUAGES"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in languages:
        return remembered
    return request.accept_languages.best_match(list(languages))


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """The application factory: ``flask --app tracker`` finds it by name."""
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

    _register_models()
    from tracker.core.handlers import RecordId

    app.url_map.converters["int"] = RecordId
    _register_blueprints(app)
    _register_hooks(app)

    import tracker.jobs  # noqa: F401 - declares the background jobs
    from tracker.cli import register_commands

    register_commands(app)
    return app


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_models() -> None:
    # Imported for their side effect of declaring the tables on the metadata,
    # which Alembic compares against the migrations.
    import tracker.auth.models
    import tracker.cases.models
    import tracker.catalogue.models
    import tracker.core.audit
    import tracker.core.mail
    import tracker.core.scheduler
    import tracker.core.settings
    import tracker.decisions.models
    import tracker.followups.models
    import tracker.meetings.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from tracker.auth.views import bp as auth_bp
    from tracker.cases.views import bp as cases_bp
    from tracker.catalogue.views import bp as catalogue_bp
    from tracker.core.audit_views import bp as audit_bp
    from tracker.core.views import bp as core_bp
    from tracker.decisions.views import bp as decisions_bp
    from tracker.followups.views import bp as followups_bp
    from tracker.meetings.views import bp as meetings_bp
    from tracker.outcomes.views import bp as outcomes_bp

    for blueprint in (
        core_bp,
        auth_bp,
        audit_bp,
        catalogue_bp,
        cases_bp,
        meetings_bp,
        decisions_bp,
        followups_bp,
        outcomes_bp,
    ):
        app.register_blueprint(blueprint)


def _register_hooks(app: Flask) -> None:
    from flask_babel import format_date, format_datetime, get_locale

    from tracker.auth.services import load_session_user
    from tracker.auth.views import unauthorized
    from tracker.core import views as core_views
    from tracker.core.afterwards import run_writes_after_response
    from tracker.core.handlers import current_path
    from tracker.core.headers import add_security_headers
    from tracker.core.navigation import nav_for
    from tracker.core.permissions import Role, enforce_access

    login_manager.user_loader(load_session_user)
    login_manager.unauthorized_handler(unauthorized)
    app.before_request(enforce_access)
    app.after_request(run_writes_after_response)
    app.after_request(add_security_headers)

    app.register_error_handler(CSRFError, core_views.handle_csrf_error)
    app.register_error_handler(HTTPException, core_views.handle_http_error)
    app.register_error_handler(500, core_views.handle_server_error)

    app.jinja_env.globals["current_path"] = current_path
    # Day before month in both languages, and a 24-hour clock: never 11/12 ambiguity.
    app.add_template_filter(lambda value: format_date(value, "d MMM y"), "date")
    app.add_template_filter(lambda value: format_datetime(value, "d MMM y, HH:mm"), "datetime")
    app.add_template_filter(lambda value: format_datetime(value, "HH:mm"), "time")
    app.add_template_filter(lambda value: format_date(value, "LLLL y"), "format_month")
    app.add_template_filter(lambda value: format_date(value, "EEE"), "weekday")

    @app.context_processor
    def inject_shell() -> dict[str, Any]:
        return {
            "nav_items": nav_for(current_user),
            "current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
            "languages": app.config["LANGUAGES"],
            "Role": Role,
        }

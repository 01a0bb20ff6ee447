"""Patient-reported follow-up: patients invited by e-mail or text message answer
their time point's questionnaire themselves, through a link, without an account."""

from __future__ import annotations

from flask import Flask

from tracker.core import signals


@signals.app_created.connect
def _blueprints(app: Flask) -> None:
    from tracker.selfreport.patient import bp as patient_bp
    from tracker.selfreport.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(patient_bp)


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

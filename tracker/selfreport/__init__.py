"""Patient-reported follow-up: patients invited by e-mail or text message answer
their time point's questionnaire themselves, through a link, without an account."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tracker.core import signals
from tracker.web.home import HomePanel
from tracker.web.permissions import Role


@signals.app_created.connect
def _blueprints(app: Flask) -> None:
    from tracker.selfreport.patient import bp as patient_bp
    from tracker.selfreport.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(patient_bp)


@signals.case_sections.connect
def _case_page(sender: Any) -> Any:
    from tracker.cases.sections import CaseSection
    from tracker.selfreport.views import case_section

    # Right after the follow-up (20): the invitations of its time points.
    return CaseSection(21, "selfreport/case_section.html", case_section)


@signals.home_panels.connect
def _home(sender: Any) -> HomePanel:
    from tracker.selfreport.views import owner_panel

    # First on a clinician's home: a patient who says the pain is back waits for a call.
    return HomePanel(Role.CLINICIAN, 0, "selfreport/home_owner.html", owner_panel)


@signals.followup_remarks.connect
def _remarks(sender: Any) -> Any:
    from tracker.selfreport.queries import worklist_remarks

    return worklist_remarks


@signals.field_labels.connect
def _labels(sender: Any) -> tuple[str, Any]:
    from tracker.selfreport.models import FIELD_LABELS

    return ("Invitation", FIELD_LABELS)


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

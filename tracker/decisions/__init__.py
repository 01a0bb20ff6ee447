"""Decisions of the meeting, procedure plans and procedures performed."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.decisions.views import bp

    app.register_blueprint(bp)


@signals.meeting_held.connect
def _minutes(meeting: Any, **extra: Any) -> None:
    from tracker.decisions.minutes import send_minutes

    send_minutes(meeting)


@signals.case_sections.connect
def _case_page(sender: Any) -> Any:
    from tracker.cases.sections import CaseSection
    from tracker.decisions.views import case_section, case_summary

    return CaseSection(10, "decisions/case_section.html", case_section, case_summary)


@signals.timeline_providers.connect
def _timeline(sender: Any) -> list[Any]:
    from tracker.decisions.timeline import decision_events, procedure_events

    return [decision_events, procedure_events]


@signals.field_labels.connect
def _labels(sender: Any) -> list[tuple[str, Any]]:
    from tracker.decisions.forms import (
        LABELS,
        PROCEDURE_LABELS,
        AdverseEventForm,
        AmendForm,
        DecisionForm,
        PlanForm,
        ProcedureForm,
    )
    from tracker.decisions.models import PREREQUISITES

    return [
        ("ProcedurePlan", dict(PREREQUISITES)),
        ("Decision", DecisionForm),
        ("Decision", LABELS),
        ("ProcedurePlan", PlanForm),
        ("Procedure", ProcedureForm),
        ("Procedure", PROCEDURE_LABELS),
        ("AdverseEvent", AdverseEventForm),
        (
            "DecisionAmendment",
            {
                "reason": AmendForm.amendment_reason.args[0],
                "amended_at": _l("Amended on"),
                "amended_by_id": _l("Amended by"),
                "decision_id": _l("Decision"),
            },
        ),
    ]


signals.provide(signals.settings, f"{__name__}.settings", "ALL")
signals.provide(signals.jobs, f"{__name__}.tasks", "JOBS")

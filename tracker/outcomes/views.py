"""The outcomes page (what works for whom, how long relief lasts, how the RCP
runs) and the data exports."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from tracker.core.audit import AuditAction, latest_change, record_access
from tracker.core.memo import KeptResults
from tracker.core.reads import shows_no_patient_data
from tracker.core.time import local_today
from tracker.decisions.models import CIRSE_GRADES
from tracker.decisions.rules import Implementation
from tracker.decisions.settings import PENDING_DAYS
from tracker.meetings.settings import QUORUM_MINIMUM
from tracker.outcomes import exports, queries
from tracker.outcomes.analysis import InvitationFigures, summarise_activity
from tracker.outcomes.charts import Curve, Line, at_risk_months, pain_chart, relief_chart
from tracker.outcomes.forms import OutcomeFilterForm
from tracker.outcomes.queries import OutcomeFilters
from tracker.outcomes.references import figures_for
from tracker.web.exports import csv_response
from tracker.web.handlers import INVALID
from tracker.web.permissions import Role, require_role

logger = logging.getLogger(__name__)

bp = Blueprint("outcomes", __name__)

TEAM = (Role.COORDINATOR, Role.RADIOLOGIST, Role.CLINICIAN)
#: Who exports the unit's data: with names, the coordinators who keep the
#: unit's records; pseudonymised, for research, also the radiologists.
EXPORT_IDENTIFIED = (Role.COORDINATOR,)
EXPORT_PSEUDONYMISED = (Role.COORDINATOR, Role.RADIOLOGIST)


KIND_LABELS = {
    "cases": _l("cases"),
    "decisions": _l("decisions"),
    "procedures": _l("procedures"),
    "assessments": _l("assessments"),
}


@bp.app_template_global()
def kind_label(name: str) -> str:
    return str(KIND_LABELS[name])


@bp.app_template_global()
def cirse_label(grade: int) -> str:
    return str(CIRSE_GRADES.get(grade, grade))


def _filter_form() -> tuple[OutcomeFilterForm, OutcomeFilters, bool]:
    form = OutcomeFilterForm(request.args)
    valid = not request.args or form.validate()
    return form, (form.filters() if valid else OutcomeFilters()), valid


#: The page's figures, kept until the data changes (about 4 s of aggregation at
#: 100,000 cases; a kept result is a few megabytes).
_FIGURES = KeptResults(size=16)


@dataclass
class Figures:
    outcomes: Any
    relief_chart: str | None
    at_risk: Any
    pain_chart: str | None
    adverse: dict[int, int]
    activity: Any
    invitations: InvitationFigures


def _figures(
    filters: OutcomeFilters, catalogue: dict[int, Any], today: date, pending_days: int
) -> Figures:
    """Everything the page computes from the data, for these filters on this day."""
    outcomes = queries.outcomes(filters, today)
    techniques = _by_position(outcomes, catalogue)
    curves = [
        Curve(technique.name, outcome.relief)
        for technique, outcome in techniques
        if outcome.relief is not None
    ]
    lines = [
        Line(
            technique.name,
            [(0, outcome.mean_baseline)] * (outcome.mean_baseline is not None)
            + [
                (point.days, point.mean_nrs)
                for point in outcome.ordered_timepoints()
                if point.mean_nrs is not None
            ],
        )
        for technique, outcome in techniques
    ]
    lines += [
        Line(f"{figure.source} ({technique.name})", figure.pain, dashed=True)
        for technique, _outcome in techniques
        for figure in figures_for(technique.code)
        if figure.pain
    ]
    return Figures(
        outcomes=outcomes,
        relief_chart=relief_chart(curves) if curves else None,
        at_risk=at_risk_months(curves),
        pain_chart=pain_chart(lines) if any(line.points for line in lines) else None,
        adverse=queries.adverse_events_by_grade(filters),
        activity=summarise_activity(
            queries.activity_rows(
                filters,
                catalogue,
                QUORUM_MINIMUM.value,
                today=today,
                pending_days=pending_days,
            )
        ),
        invitations=queries.invitation_figures(filters, today),
    )


def _by_position(outcomes: Any, catalogue: dict[int, Any]) -> list[tuple[Any, Any]]:
    return [
        (catalogue[technique_id], outcome)
        for technique_id, outcome in sorted(
            outcomes.by_technique.items(), key=lambda item: catalogue[item[0]].position
        )
    ]


@bp.route("/outcomes")
@require_role(*TEAM)
@shows_no_patient_data
def index() -> Any:
    form, filters, valid = _filter_form()
    catalogue = queries.techniques()
    today = local_today()
    # The settings are not audited data: the figures also depend on this one.
    pending_days = int(PENDING_DAYS.value)
    key = (latest_change(), filters, today, str(get_locale()), pending_days)
    figures = _FIGURES.get(key, lambda: _figures(filters, catalogue, today, pending_days))
    techniques = _by_position(figures.outcomes, catalogue)
    published = [(technique, figures_for(technique.code)) for technique, _outcome in techniques]
    return render_template(
        "outcomes/index.html",
        form=form,
        outcomes=figures.outcomes,
        techniques=techniques,
        published=[(technique, found) for technique, found in published if found],
        relief_chart=figures.relief_chart,
        at_risk=figures.at_risk,
        pain_chart=figures.pain_chart,
        adverse=figures.adverse,
        activity=figures.activity,
        invitations=figures.invitations,
        implementation=Implementation,
        pending_days=pending_days,
        args={key: value for key, value in request.args.items() if value},
    ), (200 if valid else INVALID)


@bp.route("/outcomes/exports")
@require_role(*EXPORT_PSEUDONYMISED)
@shows_no_patient_data
def exports_page() -> Any:
    form, _filters, valid = _filter_form()
    return render_template(
        "outcomes/exports.html",
        form=form,
        kinds=exports.KINDS,
        columns={
            name: (exports.header(kind, exports.IDENTIFIED), exports.header(kind, "pseudonymised"))
            for name, kind in exports.KINDS.items()
        },
        args={key: value for key, value in request.args.items() if value},
    ), (200 if valid else INVALID)


def _export(kind_name: str, variant: str) -> Any:
    kind = exports.KINDS.get(kind_name)
    if kind is None:
        abort(404)
    _form, filters, valid = _filter_form()
    if not valid:
        return exports_page()
    record_access(
        AuditAction.EXPORT,
        "Export",
        kind.name,
        details={"variant": variant, **{k: v for k, v in request.args.items() if v}},
    )
    name = f"rcp-{kind.name}-{variant}-{local_today().isoformat()}.csv"
    return csv_response(name, exports.header(kind, variant), exports.rows(kind, variant, filters))


@bp.route("/outcomes/exports/<kind>.csv")
@require_role(*EXPORT_IDENTIFIED)
def export_identified(kind: str) -> Any:
    return _export(kind, exports.IDENTIFIED)


@bp.route("/outcomes/research/<kind>.csv")
@require_role(*EXPORT_PSEUDONYMISED)
def export_pseudonymised(kind: str) -> Any:
    return _export(kind, exports.PSEUDONYMISED)

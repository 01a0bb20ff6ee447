"""Interoperability: a case as FHIR R4 resources (the R4B models of
``fhir.resources``), downloadable from the case page, and a read-only FHIR API
for systems registered by admins."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.navigation import ADMIN, NavItem


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.fhir.views import bp

    app.register_blueprint(bp)


@signals.menu_items.connect
def _menu(sender: Any) -> NavItem:
    return NavItem("fhir.clients", _l("FHIR API clients"), 915, ADMIN)


@signals.case_sections.connect
def _case_page(sender: Any) -> Any:
    from tracker.cases.sections import CaseSection
    from tracker.fhir.views import case_section

    # Last on the page: the case's FHIR bundle, for the whole team. Not in the
    # header, which says what comes next for the case (a download never does).
    return CaseSection(90, "fhir/case_section.html", case_section)


@signals.field_labels.connect
def _labels(sender: Any) -> tuple[str, Any]:
    from tracker.fhir.forms import ApiClientForm

    return ("ApiClient", ApiClientForm)

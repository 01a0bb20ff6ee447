"""Reference lists edited by admins: indications and techniques."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l

from tracker.core import signals
from tracker.web.navigation import ADMIN, NavItem


@signals.app_created.connect
def _blueprint(app: Flask) -> None:
    from tracker.catalogue.views import bp

    app.register_blueprint(bp)


@signals.menu_items.connect
def _menu(sender: Any) -> NavItem:
    return NavItem("catalogue.index", _l("Catalogues"), 910, ADMIN)


@signals.field_labels.connect
def _labels(sender: Any) -> list[tuple[str, Any]]:
    from tracker.catalogue.forms import IndicationForm, TechniqueForm

    return [("Indication", IndicationForm), ("Technique", TechniqueForm)]

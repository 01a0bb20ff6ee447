"""How a feature plugs itself into the application: one set of signals.

Each feature package connects receivers to these signals from its own
``__init__.py`` (as Indico's modules do): its blueprint, menu items, home
panels, case-page sections, remarks on listed follow-ups, timeline entries,
settings, background jobs and field labels. The application imports the
features it is made of (``tracker.FEATURES``) and asks these signals what they
contribute; nothing is registered by importing a views module for its side
effects.

A receiver returns one contribution, a list of them, or None. What each
signal's receivers return is said beside it. Contributions are collected once
per application (``collected``), so asking for them on every request costs a
dictionary look-up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib import import_module
from typing import Any

from blinker import Namespace
from flask import Flask, current_app

logger = logging.getLogger(__name__)

_signals = Namespace()

#: Sent with the application once its extensions are bound: receivers register
#: their blueprints (and anything else that needs the app itself).
app_created = _signals.signal("app-created")

#: Menu entries: ``tracker.web.navigation.NavItem``.
menu_items = _signals.signal("menu-items")

#: Panels of the home page: ``tracker.web.home.HomePanel``.
home_panels = _signals.signal("home-panels")

#: Blocks of the case page: ``tracker.cases.sections.CaseSection``.
case_sections = _signals.signal("case-sections")

#: What other features say about the follow-ups a list shows (an invitation
#: sent to the patient...): callables ``(followup ids) -> {followup id: text}``,
#: each one query for all the rows, whatever their number.
followup_remarks = _signals.signal("followup-remarks")

#: What other features show beside a procedure plan (the unit's results with
#: the technique chosen...): ``tracker.decisions.asides.PlanAside``.
plan_asides = _signals.signal("plan-asides")

#: Sources of a case's timeline: callables ``(referral) -> [TimelineEvent]``.
timeline_providers = _signals.signal("timeline-providers")

#: Site settings a feature reads: ``tracker.core.settings.SettingSpec``.
settings = _signals.signal("settings")

#: Background jobs: ``tracker.core.scheduler.JobSpec``.
jobs = _signals.signal("jobs")

#: Sent by the meetings with a meeting just marked held (``by=`` the user who
#: closed it, None for the scheduler), in the transaction that closes it: what
#: other features do about it (the minutes sent by the decisions) joins that
#: transaction.
meeting_held = _signals.signal("meeting-held")

#: Words for the columns of a model in the audit trail: ``(model name, labels)``,
#: where labels is a dict or a form class whose fields share the columns' names.
field_labels = _signals.signal("field-labels")

_EXTENSION = "tracker.contributions"


def provide(signal: Any, module: str, name: str) -> None:
    """Answer ``signal`` with the list ``module.name`` (a feature's ``JOBS`` in
    its ``tasks.py``, ``ALL`` in its ``settings.py``), imported when first asked."""

    def receiver(sender: Any) -> list[Any]:
        return list(getattr(import_module(module), name))

    # Kept by the signal itself: the receiver has no other owner.
    signal.connect(receiver, weak=False)


def values_from_signal(results: Iterable[tuple[Any, Any]]) -> list[Any]:
    """The values returned by a signal's receivers, flattened, Nones dropped."""
    values: list[Any] = []
    for _receiver, value in results:
        if value is None:
            continue
        if isinstance(value, list):
            values.extend(value)
        else:
            values.append(value)
    return values


def collected(signal: Any, app: Flask | None = None) -> list[Any]:
    """What the features contribute to ``signal``, asked once per application."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    cache: dict[str, list[Any]] = app.extensions.setdefault(_EXTENSION, {})
    if signal.name not in cache:
        cache[signal.name] = values_from_signal(signal.send(app))
    return cache[signal.name]

"""The pain trajectory of a case, drawn as an SVG image.

The same points are given to the page as a table, for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date
from flask_babel import gettext as _

from tracker.web.svgchart import Chart

BASELINE, PARTIAL, SUBSTANTIAL = "#6c757d", "#0d6efd", "#198754"
PROCEDURE, PAIN, REGROWTH = "#842029", "#212529", "#f0ad4e"


@dataclass(frozen=True)
class Point:
    on: date
    nrs: int
    #: "baseline" or "assessment".
    kind: str


@dataclass(frozen=True)
class Trajectory:
    baseline: int | None
    points: list[Point]
    procedures: list[tuple[date, str]]
    #: The expected window of nerve regrowth (an estimate).
    window: tuple[date, date] | None = None


def _date_ticks(first: date, last: date, count: int = 6) -> list[tuple[float, str]]:
    span = max((last - first).days, 1)
    step = max(1, round(span / count))
    days = range(0, span + 1, step)
    return [
        (
            (first + timedelta(days=day)).toordinal(),
            format_date(first + timedelta(days=day), "d/MM/yy"),
        )
        for day in days
    ]


def trajectory_svg(trajectory: Trajectory) -> bytes:
    chart = Chart(_("Pain over time"), width=800, height=360)
    moments = [point.on for point in trajectory.points] + [day for day, _ in trajectory.procedures]
    if trajectory.window is not None:
        moments += list(trajectory.window)
    first = min(moments, default=date.today())  # noqa: DTZ011 - only for an empty chart
    last = max(moments, default=first)
    margin = max(7, (last - first).days // 20)
    first, last = first - timedelta(days=margin), last + timedelta(days=margin)
    chart.scale((first.toordinal(), last.toordinal()), (0, 10.5))
    chart.axes(
        _date_ticks(first, last),
        [(value, str(value)) for value in range(0, 11, 2)],
        y_label=_("Pain (NRS 0-10)"),
    )
    if trajectory.window is not None:
        start, end = trajectory.window
        chart.vspan(
            start.toordinal(), end.toordinal(), REGROWTH, label=_("Expected regrowth (estimate)")
        )
    baseline = trajectory.baseline
    if baseline:
        chart.hline(baseline, BASELINE, label=_("Baseline"))
        chart.hline(baseline * 0.7, PARTIAL, dash="5 4", label=_("%(pct)d%% less pain", pct=30))
        chart.hline(baseline * 0.5, SUBSTANTIAL, dash="5 4", label=_("%(pct)d%% less pain", pct=50))
    for index, (day, technique) in enumerate(trajectory.procedures):
        chart.vline(day.toordinal(), PROCEDURE)
        chart.text(day.toordinal(), 10.2, technique[:28], colour=PROCEDURE, size=9)
        if index == 0:
            chart.legend(_("Procedure"), PROCEDURE)
    if trajectory.points:
        chart.line(
            [(point.on.toordinal(), point.nrs) for point in trajectory.points],
            PAIN,
            markers=True,
            label=_("Average pain (NRS)"),
            gid="pain-line",
        )
    return chart.render().encode()

"""The outcomes charts as SVG images: relief duration curves with the number
at risk under the axis, and mean pain over time.

Every figure drawn here is also on the page as a table.  The images are put in
the page as data URIs: the page's Content-Security-Policy forbids inline SVG
styling, and an image keeps its drawing to itself.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from tracker.outcomes.stats import KaplanMeier
from tracker.web.svgchart import Chart, value_ticks

COLOURS = ("#0d6efd", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d")

#: Months at which the number still followed is printed under the relief chart.
AT_RISK_MONTHS = (0, 3, 6, 9, 12, 18, 24, 36, 48, 60)


@dataclass(frozen=True)
class Curve:
    label: str
    curve: KaplanMeier


@dataclass(frozen=True)
class Line:
    label: str
    #: (days after the procedure, mean NRS)
    points: Sequence[tuple[float, float]]
    dashed: bool = False


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def at_risk_months(curves: Sequence[Curve]) -> list[int]:
    """The months shown under the axis: up to the longest follow-up."""
    longest = max((step.time for c in curves for step in c.curve.steps), default=0)
    months = [month for month in AT_RISK_MONTHS if month <= max(longest, 3)]
    if len(months) > 8:  # long follow-up: every other one
        months = months[::2]
    return months


def relief_chart(curves: Sequence[Curve]) -> str:
    """Kaplan-Meier curves of the share of patients still relieved."""
    months = at_risk_months(curves)
    right = max(months[-1], 3)
    footer = 22 + 16 * len(curves)
    chart = Chart(_("How long relief lasts"), height=340 + footer, footer=footer)
    chart.scale((0, right), (0, 1.02))
    chart.axes(
        [(month, str(month)) for month in months],
        [(value / 100, f"{value}%") for value in range(0, 101, 20)],
        x_label=_("Months after the procedure"),
        y_label=_("Share still relieved"),
    )
    chart.hline(0.5, "#adb5bd")
    table_top = chart.top + chart.plot_height + 56
    chart.text(chart.left, table_top, _("Number still followed"), size=10, in_pixels=True)
    for index, item in enumerate(curves):
        colour = COLOURS[index % len(COLOURS)]
        steps = item.curve.steps
        band = [(0.0, 1.0, 1.0)] + [(s.time, s.low, s.high) for s in steps]
        band.append((right, band[-1][1], band[-1][2]))
        chart.band(band, colour)
        points = [(0.0, 1.0)] + [(s.time, s.survival) for s in steps] + [(right, 0.0)]
        points[-1] = (right, points[-2][1])
        chart.steps(points, colour, label=item.label)
        chart.marks([(s.time, s.survival) for s in steps if s.censored], colour)
        if item.curve.median is not None:
            chart.vline(item.curve.median, colour, width=1, dash="2 3")
        row = table_top + 16 * (index + 1)
        for month in months:
            chart.text(
                chart.px(month),
                row,
                str(item.curve.at_risk_at(month)),
                colour=colour,
                anchor="middle",
                in_pixels=True,
            )
    return _data_uri(chart.render())


def pain_chart(lines: Sequence[Line]) -> str:
    """Mean pain (NRS) at each time point, from the baseline on."""
    longest = max((day for line in lines for day, _mean in line.points), default=30) / 30.44
    chart = Chart(_("Mean pain over time"), height=340)
    chart.scale((0, max(longest * 1.05, 1)), (0, 10.5))
    chart.axes(
        value_ticks(0, max(longest, 1), 6),
        [(value, str(value)) for value in range(0, 11, 2)],
        x_label=_("Months after the procedure"),
        y_label=_("Mean pain (NRS 0-10)"),
    )
    solid = 0
    for line in lines:
        if not line.points:
            continue
        colour = "#6c757d" if line.dashed else COLOURS[solid % len(COLOURS)]
        solid += not line.dashed
        chart.line(
            [(day / 30.44, mean) for day, mean in line.points],
            colour,
            width=1.5 if line.dashed else 2,
            dash="6 4" if line.dashed else None,
            markers=True,
            label=line.label,
        )
    return _data_uri(chart.render())

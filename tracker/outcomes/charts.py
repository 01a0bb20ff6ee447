"""The outcomes charts as SVG images (matplotlib, no pyplot): relief duration
curves with the number at risk under the axis, and mean pain over time.

Every figure drawn here is also on the page as a table.  The images are put in
the page as data URIs: the page's Content-Security-Policy forbids inline
styles, which an SVG image keeps to itself.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from tracker.outcomes.stats import KaplanMeier

COLOURS = ("#0d6efd", "#d63384", "#198754", "#fd7e14", "#6f42c1", "#20c997", "#6c757d")

#: Months at which the number still followed is printed under the relief chart.
AT_RISK_MONTHS = (0, 3, 6, 9, 12, 18, 24)


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


def _figure(height: float) -> Any:
    import matplotlib
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    matplotlib.rcParams["svg.hashsalt"] = "rcp-tracker"  # stable element ids
    return Figure(figsize=(8, height), dpi=100)


def _svg(figure: Any) -> str:
    output = io.BytesIO()
    figure.savefig(output, format="svg", metadata={"Date": None, "Creator": "RCP Tracker"})
    return "data:image/svg+xml;base64," + base64.b64encode(output.getvalue()).decode()


def at_risk_months(curves: Sequence[Curve]) -> list[int]:
    """The months shown under the axis: up to the longest follow-up."""
    longest = max((step.time for c in curves for step in c.curve.steps), default=0)
    return [month for month in AT_RISK_MONTHS if month <= max(longest, 3)]


def relief_chart(curves: Sequence[Curve]) -> str:
    """Kaplan-Meier curves of the share of patients still relieved."""
    figure = _figure(3.9 + 0.25 * len(curves))
    grid = figure.add_gridspec(2, 1, height_ratios=(4, 0.3 + 0.3 * len(curves)), hspace=0.5)
    axes = figure.add_subplot(grid[0])
    table = figure.add_subplot(grid[1], sharex=axes)
    months = at_risk_months(curves)
    right = max(months[-1], 3)
    for index, item in enumerate(curves):
        colour = COLOURS[index % len(COLOURS)]
        times = [0.0] + [step.time for step in item.curve.steps]
        survival = [1.0] + [step.survival for step in item.curve.steps]
        low = [1.0] + [step.low for step in item.curve.steps]
        high = [1.0] + [step.high for step in item.curve.steps]
        times.append(right)
        survival.append(survival[-1])
        low.append(low[-1])
        high.append(high[-1])
        axes.step(times, survival, where="post", color=colour, linewidth=2, label=item.label)
        axes.fill_between(times, low, high, step="post", color=colour, alpha=0.12, linewidth=0)
        censored = [(step.time, step.survival) for step in item.curve.steps if step.censored]
        if censored:
            axes.plot(*zip(*censored, strict=True), "|", color=colour, markersize=8)
        if item.curve.median is not None:
            axes.axvline(item.curve.median, color=colour, linewidth=0.8, linestyle=":")
        for month in months:
            table.text(
                month,
                len(curves) - index - 1,
                str(item.curve.at_risk_at(month)),
                ha="center",
                va="center",
                fontsize=8,
                color=colour,
            )
    axes.axhline(0.5, color="#adb5bd", linewidth=0.8)
    axes.set_ylim(0, 1.02)
    axes.set_xlim(0, right)
    axes.set_ylabel(_("Share still relieved"))
    axes.set_xlabel(_("Months after the procedure"))
    axes.yaxis.set_major_formatter(lambda value, _position: f"{value:.0%}")
    axes.grid(color="#e9ecef")
    if curves:
        axes.legend(loc="upper right", fontsize=8, framealpha=0.9)
    table.set_ylim(-0.5, len(curves) - 0.5)
    table.set_yticks([])
    table.set_xticks(months)
    table.tick_params(axis="x", length=0, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        table.spines[side].set_visible(False)
    table.set_title(_("Number still followed"), fontsize=8, loc="left")
    figure.subplots_adjust(left=0.1, right=0.97, top=0.96, bottom=0.04)
    return _svg(figure)


def pain_chart(lines: Sequence[Line]) -> str:
    """Mean pain (NRS) at each time point, from the baseline on."""
    figure = _figure(3.8)
    axes = figure.add_subplot()
    solid = [line for line in lines if not line.dashed]
    for index, line in enumerate(lines):
        if not line.points:
            continue
        colour = COLOURS[solid.index(line) % len(COLOURS)] if not line.dashed else "#6c757d"
        days, means = zip(*line.points, strict=True)
        axes.plot(
            [day / 30.44 for day in days],
            means,
            marker="o" if not line.dashed else "s",
            linestyle="--" if line.dashed else "-",
            color=colour,
            linewidth=1.5 if line.dashed else 2,
            label=line.label,
            zorder=3 - index * 0.01,
        )
    axes.set_ylim(0, 10.5)
    axes.set_xlim(left=0)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel(_("Mean pain (NRS 0-10)"))
    axes.set_xlabel(_("Months after the procedure"))
    axes.grid(color="#e9ecef")
    if lines:
        axes.legend(loc="upper right", fontsize=8, framealpha=0.9)
    figure.tight_layout()
    return _svg(figure)

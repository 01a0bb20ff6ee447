"""The pain trajectory of a case, drawn as an SVG image (matplotlib, no pyplot).

The same points are given to the page as a table, for screen readers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _


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


def trajectory_svg(trajectory: Trajectory) -> bytes:
    # Imported here: matplotlib is heavy and only this image needs it.
    import matplotlib
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text
    matplotlib.rcParams["svg.hashsalt"] = "rcp-tracker"  # stable element ids

    figure = Figure(figsize=(8, 3.6), dpi=100)
    axes = figure.add_subplot()
    baseline = trajectory.baseline
    if trajectory.window is not None:
        start, end = trajectory.window
        axes.axvspan(
            start, end, color="#f0ad4e", alpha=0.2, label=_("Expected regrowth (estimate)")
        )
    if baseline:
        axes.axhline(baseline, color="#6c757d", linewidth=1, label=_("Baseline"))
        axes.axhline(
            baseline * 0.7,
            color="#0d6efd",
            linewidth=1,
            linestyle="--",
            label=_("%(pct)d%% less pain", pct=30),
        )
        axes.axhline(
            baseline * 0.5,
            color="#198754",
            linewidth=1,
            linestyle="--",
            label=_("%(pct)d%% less pain", pct=50),
        )
    for index, (day, technique) in enumerate(trajectory.procedures):
        axes.axvline(
            day, color="#842029", linewidth=1.5, label=_("Procedure") if index == 0 else None
        )
        axes.annotate(
            technique[:28], (day, 10.3), fontsize=7, color="#842029", annotation_clip=False
        )
    if trajectory.points:
        days = [point.on for point in trajectory.points]
        values = [point.nrs for point in trajectory.points]
        axes.plot(
            days,
            values,
            marker="o",
            color="#212529",
            linewidth=2,
            label=_("Average pain (NRS)"),
            gid="pain-line",
        )
    axes.set_ylim(0, 10.5)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel(_("Pain (NRS 0-10)"))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m/%y"))
    axes.grid(axis="y", color="#e9ecef")
    axes.legend(loc="upper right", fontsize=7, framealpha=0.9)
    figure.autofmt_xdate()
    figure.tight_layout()
    output = io.BytesIO()
    figure.savefig(output, format="svg", metadata={"Date": None, "Creator": "RCP Tracker"})
    return output.getvalue()

"""The pain trajectory of a case, drawn as an SVG image.

The same points are given to the page as a table, for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import format_date, format_percent
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


#: Dates on the axis as the reader says them ("7 Jul", "7 juil."), never a
#: numeric form read differently on each side of the Channel; the year is added
#: when the chart spans two.
DAY_MONTH, DAY_MONTH_YEAR = "d MMM", "d MMM y"


def _date_ticks(first: date, last: date, count: int = 6) -> list[tuple[float, str]]:
    span = max((last - first).days, 1)
    step = max(1, round(span / count))
    days = range(0, span + 1, step)
    pattern = DAY_MONTH if first.year == last.year else DAY_MONTH_YEAR
    return [
        (
            (first + timedelta(days=day)).toordinal(),
            format_date(first + timedelta(days=day), pattern),
        )
        for day in days
    ]


#: The two reference lines (30% and 50% less pain than the baseline) differ by
#: their dashes and are named in the margin, not only by their colour.
REFERENCE_LINES = ((0.3, PARTIAL, "6 4"), (0.5, SUBSTANTIAL, "2 3"))


def trajectory_svg(trajectory: Trajectory) -> bytes:
    # Room above the plot for the procedures' names (three lines) and at the
    # right for the reference lines' names.
    chart = Chart(_("Pain over time"), width=800, height=400, margins=(56, 52, 48, 60))
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
        for share, colour, dash in REFERENCE_LINES:
            level = baseline * (1 - share)
            chart.hline(
                level, colour, dash=dash, label=_("%(pct)d%% less pain", pct=round(share * 100))
            )
            chart.right_label(level, format_percent(-share), colour=colour)
    for index, (day, technique) in enumerate(trajectory.procedures):
        chart.vline(day.toordinal(), PROCEDURE)
        chart.note(day.toordinal(), technique, colour=PROCEDURE)
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


# --- the small trajectory of one procedure ------------------------------------------------

#: Width and height of the small trajectory, in pixels: the size of a line of a list.
SPARKLINE_SIZE = (160, 40)
#: The shortest span of days a small trajectory covers, so that a first week's
#: readings are not stretched over the whole width.
SPARKLINE_MIN_DAYS = 30


def sparkline_words(baseline: int | None, readings: Sequence[tuple[int, int, bool]]) -> str:
    """The small trajectory in words (its text alternative): ``readings`` are
    (days since the procedure, NRS, the pain is back), in order."""
    values = [_("baseline %(nrs)d/10", nrs=baseline)] if baseline is not None else []
    for day, nrs, back in readings:
        if back:
            values.append(_("day %(day)d: %(nrs)d/10, pain back", day=day, nrs=nrs))
        else:
            values.append(_("day %(day)d: %(nrs)d/10", day=day, nrs=nrs))
    if not readings:
        values.append(_("no follow-up reading"))
    return _("Pain after the procedure (NRS 0-10): %(values)s.", values=", ".join(values))


def sparkline_svg(baseline: int | None, readings: Sequence[tuple[int, int, bool]]) -> str:
    """A procedure's pain over the days since it, small enough for a list: the
    baseline dashed, each reading a dot. Markers carry no ids, so that several
    can be written inline in one page."""
    width, height = SPARKLINE_SIZE
    chart = Chart(
        sparkline_words(baseline, readings), width=width, height=height, margins=(3, 3, 3, 3)
    )
    days = [day for day, _nrs, _back in readings]
    first, last = min([0, *days]), max([SPARKLINE_MIN_DAYS, *days])
    chart.scale((first, last), (0, 10))
    # The plotting area shaded (0 at its foot, 10 at its top): no axes, whose
    # group carries an id.
    chart.vspan(first, last, "#adb5bd")
    points = [(day, nrs) for day, nrs, _back in readings]
    if baseline is not None:
        chart.hline(baseline, BASELINE, dash="3 2")
        chart.dots([(0, baseline)], BASELINE)
        points.insert(0, (0, baseline))
    chart.line(points, PAIN, width=1.5)
    chart.dots([(day, nrs) for day, nrs, _back in readings], PAIN)
    chart.dots([(day, nrs) for day, nrs, back in readings if back], PROCEDURE, radius=3)
    return chart.render()

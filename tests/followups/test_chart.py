"""The pain trajectory chart as the reader sees it: dates in their language,
reference lines told apart without colour, the legend clear of the data and
long technique names kept whole."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

import pytest
from flask_babel import force_locale

from tracker.followups.chart import Point, Trajectory, trajectory_svg

SVG = "{http://www.w3.org/2000/svg}"
LONG = "Radiofrequency ablation of the genicular nerves under fluoroscopic guidance"


def render(app, locale: str) -> ET.Element:
    trajectory = Trajectory(
        baseline=8,
        points=[
            Point(date(2026, 6, 2), 8, "baseline"),
            Point(date(2026, 7, 7), 3, "assessment"),
            Point(date(2026, 9, 15), 4, "assessment"),
            Point(date(2026, 11, 2), 6, "assessment"),
        ],
        procedures=[(date(2026, 6, 9), LONG)],
        window=(date(2026, 10, 1), date(2026, 11, 30)),
    )
    with app.test_request_context(), force_locale(locale):
        return ET.fromstring(trajectory_svg(trajectory))  # noqa: S314 - our own SVG


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("locale", "expected", "absent"),
    [("en", {"26 Jun", "29 Jul"}, "juil."), ("fr", {"26 juin", "29 juil."}, "Jul")],
)
def test_dates_are_written_in_words_in_the_readers_language(app, locale, expected, absent):
    axis = next(g for g in render(app, locale).iter(f"{SVG}g") if g.get("id") == "axes")
    labels = texts(axis)
    assert expected <= set(labels), labels
    joined = " ".join(label for label in labels if "(" not in label)  # not the axis title
    assert absent not in joined
    # No numeric dates (06/07/26, 2026-07-06): read differently in Paris and in London.
    assert not re.search(r"\d[/.-]\d", joined), joined


@pytest.mark.parametrize(
    ("locale", "thirty", "fifty"), [("en", "-30%", "-50%"), ("fr", "-30%", "-50%")]
)
def test_the_two_reference_lines_differ_by_dashes_and_by_a_name(app, locale, thirty, fifty):
    root = render(app, locale)
    # The baseline is 8: the lines are at 5.6 and 4 on the scale; their legend samples too.
    dashes = {
        line.get("stroke"): line.get("stroke-dasharray")
        for line in root.iter(f"{SVG}polyline")
        if line.get("stroke-dasharray")
    }
    assert len(dashes) == 2
    assert len(set(dashes.values())) == 2
    names = [
        text.replace("\u202f", "").replace("\xa0", "").replace(" ", "") for text in texts(root)
    ]
    assert thirty in names
    assert fifty in names


def box(node: ET.Element) -> tuple[float, float, float, float]:
    x, y = float(node.get("x", 0)), float(node.get("y", 0))
    return x, y, x + float(node.get("width")), y + float(node.get("height"))


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_the_legend_is_outside_the_plotting_area(app, locale):
    root = render(app, locale)
    axes = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "axes")
    plot = box(next(axes.iter(f"{SVG}rect")))
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "legend")
    frame = box(next(legend.iter(f"{SVG}rect")))
    apart = frame[0] >= plot[2] or frame[2] <= plot[0] or frame[1] >= plot[3] or frame[3] <= plot[1]
    assert apart, (frame, plot)
    # ... and inside the image, whose height makes room for it.
    assert frame[3] <= float(root.get("height"))
    assert len(texts(legend)) == 6  # every entry, none left out


def test_a_long_technique_name_is_kept_whole(app):
    root = render(app, "en")
    note = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "note")
    assert note.find(f"{SVG}title").text == LONG
    lines = [tspan.text for tspan in note.iter(f"{SVG}tspan")]
    assert len(lines) > 1
    assert " ".join(lines).replace("…", "") in LONG or " ".join(lines) == LONG
    # Above the plot, not over the readings near the top of the scale.
    axes = next(g for g in root.iter(f"{SVG}g") if g.get("id") == "axes")
    plot_top = box(next(axes.iter(f"{SVG}rect")))[1]
    assert all(float(tspan.get("y")) < plot_top for tspan in note.iter(f"{SVG}tspan"))
    assert all(float(tspan.get("y")) > 0 for tspan in note.iter(f"{SVG}tspan"))

"""Small line charts written as SVG text: axes, grid, lines, steps, bands,
reference lines and a legend.

The legend is drawn under the chart, outside the plotting area (the image grows
by its height), so that it never hides data; labels that may be long are
wrapped, their full text kept in a <title>.

The charts of the product are simple and drawn on every view of a case page
or of the outcomes page; writing the SVG directly takes a millisecond where a
plotting library takes a few hundred.  The SVG uses presentation attributes
only (no style element), carries a <title> for screen readers, and its text
stays text.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    dash: str | None
    kind: str  # "line", "area", "marker"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values spanning ``low``-``high``, about ``count`` of them."""
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class Chart:
    """One plotting area with its axes; add layers, then ``render()``."""

    def __init__(
        self,
        title: str,
        *,
        width: int = 800,
        height: int = 360,
        margins: tuple[int, int, int, int] = (16, 16, 48, 60),
        footer: int = 0,
    ) -> None:
        self.title = title
        self.width, self.height = width, height
        self.top, self.right, self.bottom, self.left = margins
        self.footer = footer
        self.layers: list[str] = []
        self.legend_entries: list[LegendEntry] = []
        self.x_range = (0.0, 1.0)
        self.y_range = (0.0, 1.0)

    # --- coordinates -----------------------------------------------------------

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom - self.footer

    def scale(self, x: tuple[float, float], y: tuple[float, float]) -> None:
        low, high = x
        self.x_range = (low, high if high > low else low + 1)
        low, high = y
        self.y_range = (low, high if high > low else low + 1)

    def px(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / (high - low) * self.plot_width

    def py(self, value: float) -> float:
        low, high = self.y_range
        return self.top + (1 - (value - low) / (high - low)) * self.plot_height

    def _points(self, points: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in points)

    # --- layers ---------------------------------------------------------------

    def axes(
        self,
        x_ticks: Sequence[tuple[float, str]],
        y_ticks: Sequence[tuple[float, str]],
        *,
        x_label: str = "",
        y_label: str = "",
    ) -> None:
        parts = ['<g id="axes" font-size="11" fill="#212529">']
        for value, label in y_ticks:
            y = self.py(value)
            parts.append(
                f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" '
                f'y2="{y:.1f}" stroke="#e9ecef"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(label)}</text>"
            )
        bottom = self.top + self.plot_height
        for value, label in x_ticks:
            x = self.px(value)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.top}" y2="{bottom:.1f}" '
                f'stroke="#f1f3f5"/>'
                f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
        parts.append(
            f'<rect x="{self.left}" y="{self.top}" width="{self.plot_width:.1f}" '
            f'height="{self.plot_height:.1f}" fill="none" stroke="#adb5bd"/>'
        )
        if x_label:
            parts.append(
                f'<text x="{self.left + self.plot_width / 2:.1f}" y="{bottom + 36:.1f}" '
                f'text-anchor="middle" font-size="12">{escape(x_label)}</text>'
            )
        if y_label:
            middle = self.top + self.plot_height / 2
            parts.append(
                f'<text x="14" y="{middle:.1f}" text-anchor="middle" font-size="12" '
                f'transform="rotate(-90 14 {middle:.1f})">{escape(y_label)}</text>'
            )
        parts.append("</g>")
        self.layers.insert(0, "".join(parts))

    def line(
        self,
        points: Sequence[tuple[float, float]],
        colour: str,
        *,
        width: float = 2,
        dash: str | None = None,
        markers: bool = False,
        label: str | None = None,
        gid: str | None = None,
    ) -> None:
        if not points:
            return
        group = f' id="{gid}"' if gid else ""
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts = [
            f"<g{group}>",
            f'<polyline points="{self._points(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dashes} stroke-linejoin="round"/>',
        ]
        if markers:
            marker = f"m-{gid or len(self.layers)}"
            parts.append(
                f'<defs><circle id="{marker}" r="4" fill="{colour}" stroke="#ffffff"/></defs>'
            )
            parts += [
                f'<use href="#{marker}" x="{self.px(x):.1f}" y="{self.py(y):.1f}"/>'
                for x, y in points
            ]
        parts.append("</g>")
        self.layers.append("".join(parts))
        if label:
            self.legend_entries.append(LegendEntry(label, colour, dash, "line"))

    def steps(self, points: Sequence[tuple[float, float]], colour: str, **options: object) -> None:
        """A line that holds each value until the next point (a survival curve)."""
        stepped: list[tuple[float, float]] = []
        for (x, y), (next_x, _next_y) in itertools.pairwise(points):
            stepped += [(x, y), (next_x, y)]
        if points:
            stepped.append(points[-1])
        self.line(stepped, colour, **options)  # type: ignore[arg-type]

    def band(
        self,
        points: Sequence[tuple[float, float, float]],
        colour: str,
        *,
        opacity: float = 0.12,
        stepped: bool = True,
    ) -> None:
        """A shaded area between low and high values: (x, low, high)."""
        if not points:
            return
        upper, lower = [], []
        for index, (x, low, high) in enumerate(points):
            if stepped and index:
                upper.append((x, points[index - 1][2]))
                lower.append((x, points[index - 1][1]))
            upper.append((x, high))
            lower.append((x, low))
        outline = upper + list(reversed(lower))
        self.layers.append(
            f'<polygon points="{self._points(outline)}" fill="{colour}" '
            f'fill-opacity="{opacity}" stroke="none"/>'
        )

    def hline(
        self, y: float, colour: str, *, dash: str | None = None, label: str | None = None
    ) -> None:
        self.line(
            [(self.x_range[0], y), (self.x_range[1], y)], colour, width=1, dash=dash, label=label
        )

    def vline(self, x: float, colour: str, *, width: float = 1.5, dash: str | None = None) -> None:
        self.line([(x, self.y_range[0]), (x, self.y_range[1])], colour, width=width, dash=dash)

    def vspan(self, start: float, end: float, colour: str, *, label: str | None = None) -> None:
        x0, x1 = self.px(start), self.px(end)
        self.layers.append(
            f'<rect x="{x0:.1f}" y="{self.top}" width="{max(x1 - x0, 1):.1f}" '
            f'height="{self.plot_height:.1f}" fill="{colour}" fill-opacity="0.2"/>'
        )
        if label:
            self.legend_entries.append(LegendEntry(label, colour, None, "area"))

    def marks(self, points: Sequence[tuple[float, float]], colour: str) -> None:
        """Short vertical ticks (censored observations)."""
        self.layers.append(
            "".join(
                f'<line x1="{self.px(x):.1f}" x2="{self.px(x):.1f}" y1="{self.py(y) - 5:.1f}" '
                f'y2="{self.py(y) + 5:.1f}" stroke="{colour}" stroke-width="1.5"/>'
                for x, y in points
            )
        )

    def dots(
        self, points: Sequence[tuple[float, float]], colour: str, *, radius: float = 2.5
    ) -> None:
        """Round markers drawn in place: no element ids, so that several charts
        can share one page (inline SVG) without their ids clashing."""
        self.layers.append(
            "".join(
                f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="{radius}" '
                f'fill="{colour}"/>'
                for x, y in points
            )
        )

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        colour: str = "#212529",
        size: int = 10,
        anchor: str = "start",
        in_pixels: bool = False,
    ) -> None:
        px, py = (x, y) if in_pixels else (self.px(x), self.py(y))
        self.layers.append(
            f'<text x="{px:.1f}" y="{py:.1f}" font-size="{size}" fill="{colour}" '
            f'text-anchor="{anchor}">{escape(content)}</text>'
        )

    def note(
        self,
        x: float,
        content: str,
        *,
        colour: str = "#212529",
        size: int = 10,
        chars: int = 24,
        lines: int = 3,
    ) -> None:
        """A label above the plotting area at ``x`` (its foot on the plot's top
        edge), wrapped in lines of about ``chars`` characters, at most ``lines``
        of them (the last one shortened with "…"); the full text is its <title>.
        Kept inside the image: anchored at its start near the left edge, at its
        end near the right one."""
        wrapped = textwrap.wrap(content, chars) or [""]
        if len(wrapped) > lines:
            rest = " ".join(wrapped[lines - 1 :])
            wrapped = [*wrapped[: lines - 1], textwrap.shorten(rest, chars, placeholder="…")]
        px = self.px(x)
        half = max(len(line) for line in wrapped) * size * 0.62 / 2
        anchor = "start" if px - half < 4 else "end" if px + half > self.width - 4 else "middle"
        first = self.top - 4 - (len(wrapped) - 1) * (size + 1)
        tspans = "".join(
            f'<tspan x="{px:.1f}" y="{first + index * (size + 1):.1f}">{escape(line)}</tspan>'
            for index, line in enumerate(wrapped)
        )
        self.layers.append(
            f'<g class="note"><title>{escape(content)}</title><text font-size="{size}" '
            f'fill="{colour}" text-anchor="{anchor}">{tspans}</text></g>'
        )

    def right_label(self, y: float, content: str, *, colour: str = "#212529") -> None:
        """A short label in the right margin, level with ``y`` (a reference line's name)."""
        self.layers.append(
            f'<text x="{self.width - self.right + 4}" y="{self.py(y) + 4:.1f}" font-size="10" '
            f'fill="{colour}">{escape(content)}</text>'
        )

    def legend(self, label: str, colour: str, *, dash: str | None = None) -> None:
        """A legend line for a layer drawn without one (several lines, one meaning)."""
        self.legend_entries.append(LegendEntry(label, colour, dash, "line"))

    # --- output ---------------------------------------------------------------

    #: Height of a legend row, and the width of a legend entry's sample and of
    #: one character of its label (an estimate: the font is not measured).
    LEGEND_ROW, LEGEND_SAMPLE, CHAR_WIDTH = 16, 32, 6.2

    def _legend_rows(self) -> list[list[tuple[float, LegendEntry]]]:
        """The legend's entries, flowed left to right in rows as wide as the plot."""
        rows: list[list[tuple[float, LegendEntry]]] = []
        x = self.plot_width + 1  # start a row at the first entry
        for entry in self.legend_entries:
            width = self.LEGEND_SAMPLE + len(entry.label) * self.CHAR_WIDTH + 18
            if x + width > self.plot_width and (not rows or rows[-1]):
                rows.append([])
                x = 0
            rows[-1].append((x, entry))
            x += width
        return rows

    @property
    def legend_height(self) -> int:
        rows = self._legend_rows()
        return 10 + self.LEGEND_ROW * len(rows) if rows else 0

    def _legend(self) -> str:
        rows = self._legend_rows()
        if not rows:
            return ""
        top = self.height + 4
        parts = [
            f'<g id="legend" font-size="11"><rect x="{self.left}" y="{top}" '
            f'width="{self.plot_width:.1f}" height="{self.legend_height - 6}" '
            f'fill="#ffffff" stroke="#dee2e6"/>'
        ]
        for number, row in enumerate(rows):
            y = top + 16 + number * self.LEGEND_ROW
            for offset, entry in row:
                x = self.left + 6 + offset
                if entry.kind == "area":
                    parts.append(
                        f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="24" height="9" '
                        f'fill="{entry.colour}" fill-opacity="0.3"/>'
                    )
                else:
                    dashes = f' stroke-dasharray="{entry.dash}"' if entry.dash else ""
                    parts.append(
                        f'<line x1="{x:.1f}" x2="{x + 24:.1f}" y1="{y - 4:.1f}" '
                        f'y2="{y - 4:.1f}" stroke="{entry.colour}" stroke-width="2"{dashes}/>'
                    )
                parts.append(f'<text x="{x + 30:.1f}" y="{y:.1f}">{escape(entry.label)}</text>')
        parts.append("</g>")
        return "".join(parts)

    def render(self) -> str:
        height = self.height + self.legend_height
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{height}" viewBox="0 0 {self.width} {height}" '
            f'font-family={quoteattr(FONT)} role="img">'
            f"<title>{escape(self.title)}</title>"
            f'<rect width="{self.width}" height="{height}" fill="#ffffff"/>'
            + "".join(self.layers)
            + self._legend()
            + "</svg>"
        )


def value_ticks(low: float, high: float, count: int = 5) -> list[tuple[float, str]]:
    return [(value, _number(value)) for value in nice_ticks(low, high, count)]

"""Published figures shown beside the unit's own results (the product's domain
reference, "Published figures worth showing beside local results").

They describe other teams' patients, selected and followed in their own way:
the page shows them as a point of comparison, never as a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class PublishedFigure:
    #: The technique's catalogue code.
    technique: str
    text: Any
    source: str
    #: Mean NRS by days after the procedure, drawn beside the local means.
    pain: tuple[tuple[int, float], ...] = ()


FIGURES = (
    PublishedFigure(
        "cryoneurolysis",
        _l(
            "Mean pain 8.3 before, 2.3 at 1 month, 3.2 at 3 months and 4.7 at 6 months; "
            "mean time to recurrence 9.3 months."
        ),
        "Yoon et al., 2016",
        pain=((0, 8.3), (30, 2.3), (91, 3.2), (183, 4.7)),
    ),
    PublishedFigure(
        "cryoneurolysis",
        _l("Relief lasts weeks to months, as the nerve regrows."),
        "Ilfeld et al., Anesthesiology 2020",
    ),
    PublishedFigure(
        "radiofrequency",
        _l("Relief usually lasts under 2 years, because the nerve regrows."),
        "NICE IPG767",
    ),
    PublishedFigure(
        "cementoplasty",
        _l(
            "%(share)d%% of patients relieved within 48 hours, against %(radiotherapy)d%% "
            "one month after radiotherapy.",
            share=90,
            radiotherapy=75,
        ),
        "Centre Léon Bérard",
    ),
)


def figures_for(technique_code: str) -> list[PublishedFigure]:
    return [figure for figure in FIGURES if figure.technique == technique_code]

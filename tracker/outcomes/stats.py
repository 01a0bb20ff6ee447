"""Statistics of the outcomes page, on plain numbers (no database).

- Proportions with a 95% Wilson score interval (Wilson 1927; Newcombe, Stat Med
  1998): good for the small samples of one unit, never outside 0-1.
- Kaplan-Meier survival with Greenwood's variance and the log-log interval
  (Kalbfleisch and Prentice), which stays within 0-1; the median and its
  interval as ``quantile.survfit`` in R's survival package defines them (its
  ``findq``: the midpoint of a flat stretch at one half, within R's tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

#: The 97.5th percentile of the standard normal distribution.
Z95 = 1.959963984540054

#: ``quantile.survfit``'s default tolerance, ``sqrt(.Machine$double.eps)``: a
#: curve within it of one half is flat at one half.
TOLERANCE = math.sqrt(2.0**-52)


@dataclass(frozen=True)
class Proportion:
    successes: int
    total: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.successes / self.total


def wilson(successes: int, total: int, z: float = Z95) -> Proportion | None:
    """``successes`` out of ``total`` with its Wilson score interval (None if no total)."""
    if total <= 0:
        return None
    if not 0 <= successes <= total:
        raise ValueError("successes must be between 0 and total")
    p = successes / total
    z2 = z * z
    denominator = 1 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total)) / denominator
    return Proportion(successes, total, max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Step:
    """The curve at one time where something happened."""

    time: float
    #: Still followed just before ``time``.
    at_risk: int
    events: int
    censored: int
    survival: float
    low: float
    high: float


@dataclass(frozen=True)
class KaplanMeier:
    steps: tuple[Step, ...]
    subjects: int
    events: int
    median: float | None
    median_low: float | None
    median_high: float | None

    def survival_at(self, time: float) -> float:
        survival = 1.0
        for step in self.steps:
            if step.time > time:
                break
            survival = step.survival
        return survival

    def exact_survival_at(self, time: float) -> Fraction:
        """The survival at ``time`` as the exact product of its factors (for
        percentages that round at their halves)."""
        numerator = denominator = 1
        for step in self.steps:
            if step.time > time:
                break
            numerator *= step.at_risk - step.events
            denominator *= step.at_risk
        return Fraction(numerator, denominator)

    def at_risk_at(self, time: float) -> int:
        """Subjects still followed (no event, not censored) at ``time``."""
        for step in self.steps:
            if step.time >= time:
                return step.at_risk
        return 0


def _log_log_interval(survival: float, greenwood: float, z: float) -> tuple[float, float]:
    if survival >= 1.0:
        return 1.0, 1.0
    if survival <= 0.0:
        return 0.0, 0.0
    spread = z * math.sqrt(greenwood) / abs(math.log(survival))
    return survival ** math.exp(spread), survival ** math.exp(-spread)


def kaplan_meier(times: Sequence[float], events: Sequence[bool], z: float = Z95) -> KaplanMeier:
    """The Kaplan-Meier estimate for subjects followed ``times[i]`` long, whose
    follow-up ended with the event (``events[i]``) or was censored."""
    if len(times) != len(events):
        raise ValueError("one event flag per time")
    if any(time < 0 for time in times):
        raise ValueError("times cannot be negative")
    ended: dict[float, list[int]] = {}
    for time, event in zip(times, events, strict=True):
        counts = ended.setdefault(float(time), [0, 0])
        counts[0 if event else 1] += 1
    at_risk = len(times)
    survival, greenwood = 1.0, 0.0
    steps = []
    for time in sorted(ended):
        died, censored = ended[time]
        if died:
            # As R's survfitkm.c computes it, to the last bit.
            survival *= (at_risk - died) / at_risk
            if at_risk > died:
                greenwood += died / (at_risk * (at_risk - died))
        low, high = _log_log_interval(survival, greenwood, z)
        steps.append(Step(time, at_risk, died, censored, survival, low, high))
        at_risk -= died + censored
    times_seen = [0.0] + [step.time for step in steps]

    def median_of(curve: Sequence[float | None]) -> float | None:
        rising: list[float | None] = [0.0, *(None if s is None else 1 - s for s in curve)]
        return _findq(times_seen, rising, 0.5)

    # R has no limits where the survival is 0 (log(0)): NA, which findq skips.
    return KaplanMeier(
        steps=tuple(steps),
        subjects=len(times),
        events=sum(1 for event in events if event),
        median=median_of([step.survival for step in steps]),
        # The lower band reaches one half first: the earliest plausible median.
        median_low=median_of([step.low if step.survival > 0 else None for step in steps]),
        median_high=median_of([step.high if step.survival > 0 else None for step in steps]),
    )


def _findq(x: list[float], y: list[float | None], p: float, tol: float = TOLERANCE) -> float | None:
    """R's ``findq`` (survival, R/quantile.survfit.R) for one probability ``p``:
    where the rising curve ``y`` (1 - survival, from 0 at ``x[0]``; None where R
    has NA) crosses ``p``.  A stretch flat at ``p`` (within ``tol``) gives the
    midpoint between its start and the next jump, or the last time when the
    curve ends flat there."""
    known = [value for value in y if value is not None]
    if not known or max(known) < p:
        return None
    xmax = x[-1]
    # duplicated(y): keep the first time of each level (censorings add none).
    seen: set[float | None] = set()
    kept_x: list[float] = []
    kept_y: list[float | None] = []
    for time, value in zip(x, y, strict=True):
        if value not in seen:
            seen.add(value)
            kept_x.append(time)
            kept_y.append(value)
    n = len(kept_y)
    index1 = _approx_right([None if v is None else v + tol for v in kept_y], p)
    index2 = _approx_right([None if v is None else v - tol for v in kept_y], p)
    quantile = None
    if index1 is not None and index2 is not None:
        quantile = (kept_x[index1] + kept_x[index2]) / 2
    last = kept_y[n - 1]
    if last is not None and abs(p - last) < tol:
        quantile = None if index1 is None else (kept_x[index1] + xmax) / 2
    return quantile


def _approx_right(levels: list[float | None], p: float) -> int | None:
    """``approx(levels, 0:(n-1), p, method="constant", f=1)$y`` in R: the
    position of the first level at or above ``p`` (positions of equal levels
    averaged, then truncated as an R subscript), None outside the levels."""
    by_level: dict[float, list[int]] = {}
    for position, level in enumerate(levels):
        if level is not None:
            by_level.setdefault(level, []).append(position)
    ordered = sorted(by_level)
    if not ordered or p < ordered[0] or p > ordered[-1]:
        return None
    reached = next(level for level in ordered if level >= p)
    positions = by_level[reached]
    return int(sum(positions) / len(positions))


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)

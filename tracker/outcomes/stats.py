"""Statistics of the outcomes page, on plain numbers (no database).

- Proportions with a 95% Wilson score interval (Wilson 1927; Newcombe, Stat Med
  1998): good for the small samples of one unit, never outside 0-1.
- Kaplan-Meier survival with Greenwood's variance and the log-log interval
  (Kalbfleisch and Prentice), which stays within 0-1; the median and its
  interval as ``quantile.survfit`` in R's survival package defines them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: The 97.5th percentile of the standard normal distribution.
Z95 = 1.959963984540054


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
            survival *= 1 - died / at_risk
            if at_risk > died:
                greenwood += died / (at_risk * (at_risk - died))
        low, high = _log_log_interval(survival, greenwood, z)
        steps.append(Step(time, at_risk, died, censored, survival, low, high))
        at_risk -= died + censored
    with_events = [step for step in steps if step.events]

    def first_time(reaches: str) -> float | None:
        return next((step.time for step in with_events if getattr(step, reaches) <= 0.5), None)

    return KaplanMeier(
        steps=tuple(steps),
        subjects=len(times),
        events=sum(1 for event in events if event),
        median=first_time("survival"),
        # The lower band reaches one half first: the earliest plausible median.
        median_low=first_time("low"),
        median_high=first_time("high"),
    )


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)

"""Wilson intervals and Kaplan-Meier, against hand calculations and textbook values."""

from __future__ import annotations

import math

import pytest

from tracker.outcomes.stats import Z95, kaplan_meier, percentile, wilson


def test_wilson_by_hand_for_8_out_of_10():
    z2 = Z95**2
    centre = (0.8 + z2 / 20) / (1 + z2 / 10)
    half = Z95 * math.sqrt(0.8 * 0.2 / 10 + z2 / 400) / (1 + z2 / 10)
    result = wilson(8, 10)
    assert result.rate == 0.8
    assert result.low == pytest.approx(centre - half)
    assert result.high == pytest.approx(centre + half)
    assert (round(result.low, 3), round(result.high, 3)) == (0.490, 0.943)


def test_wilson_matches_newcombe_1998():
    """Newcombe, Stat Med 1998;17:857-72, table I: Wilson score intervals."""
    assert _rounded(wilson(81, 263)) == (0.2553, 0.3662)
    assert _rounded(wilson(15, 148)) == (0.0624, 0.1605)
    assert _rounded(wilson(0, 20)) == (0.0, 0.1611)
    assert _rounded(wilson(1, 29)) == (0.0061, 0.1718)


def _rounded(proportion):
    return round(proportion.low, 4), round(proportion.high, 4)


def test_wilson_of_nothing_is_nothing():
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and total"):
        wilson(3, 2)


#: Freireich et al. (Blood 1963): remission times in weeks of the 6-MP group, the
#: classic example of Kaplan-Meier textbooks (Kleinbaum and Klein, Survival
#: Analysis, chapter 2); False marks a censored time.
SIX_MP = [
    (6, True), (6, True), (6, True), (6, False), (7, True), (9, False), (10, True),
    (10, False), (11, False), (13, True), (16, True), (17, False), (19, False),
    (20, False), (22, True), (23, True), (25, False), (32, False), (32, False),
    (34, False), (35, False),
]  # fmt: skip


def test_kaplan_meier_matches_the_textbook_6mp_table():
    curve = kaplan_meier([t for t, _ in SIX_MP], [e for _, e in SIX_MP])
    survival = {step.time: round(step.survival, 4) for step in curve.steps if step.events}
    assert survival == {
        6: 0.8571,
        7: 0.8067,
        10: 0.7529,
        13: 0.6902,
        16: 0.6275,
        22: 0.5378,
        23: 0.4482,
    }
    assert curve.median == 23
    assert curve.subjects == 21
    assert curve.events == 9
    assert curve.at_risk_at(6) == 21
    assert curve.at_risk_at(7) == 17
    assert curve.at_risk_at(23) == 6


def test_kaplan_meier_intervals_match_r_survival_with_log_log():
    """survfit(Surv(time, status) ~ 1, conf.type = "log-log") on the 6-MP group."""
    curve = kaplan_meier([t for t, _ in SIX_MP], [e for _, e in SIX_MP])
    bands = {
        step.time: (round(step.low, 3), round(step.high, 3)) for step in curve.steps if step.events
    }
    assert bands == {
        6: (0.620, 0.952),
        7: (0.563, 0.923),
        10: (0.503, 0.889),
        13: (0.432, 0.849),
        16: (0.368, 0.805),
        22: (0.268, 0.747),
        23: (0.188, 0.680),
    }
    assert (curve.median_low, curve.median_high) == (13, None)


def test_kaplan_meier_interval_by_hand_at_the_first_step():
    curve = kaplan_meier([t for t, _ in SIX_MP], [e for _, e in SIX_MP])
    first = curve.steps[0]
    greenwood = 3 / (21 * 18)
    spread = Z95 * math.sqrt(greenwood) / abs(math.log(18 / 21))
    assert first.low == pytest.approx((18 / 21) ** math.exp(spread))
    assert first.high == pytest.approx((18 / 21) ** math.exp(-spread))
    assert (round(first.low, 3), round(first.high, 3)) == (0.620, 0.952)


def test_a_small_table_by_hand_with_its_median_interval():
    # Times 1, 2, 3+, 4, 5: S = 4/5, 3/5, (3+ censored), 3/5 * 1/2, 0.
    curve = kaplan_meier([1, 2, 3, 4, 5], [True, True, False, True, True])
    assert [round(step.survival, 4) for step in curve.steps] == [0.8, 0.6, 0.6, 0.3, 0.0]
    assert [step.at_risk for step in curve.steps] == [5, 4, 3, 2, 1]
    assert curve.median == 4
    # Greenwood at 2: 1/(5*4) + 1/(4*3); log-log interval of 0.6.
    greenwood = 1 / 20 + 1 / 12
    spread = Z95 * math.sqrt(greenwood) / abs(math.log(0.6))
    at_two = curve.steps[1]
    assert at_two.low == pytest.approx(0.6 ** math.exp(spread))
    assert at_two.high == pytest.approx(0.6 ** math.exp(-spread))
    # The median interval: first times where the lower, then the upper, limit
    # reaches one half.
    lower_first = next(s.time for s in curve.steps if s.events and s.low <= 0.5)
    upper_first = next(s.time for s in curve.steps if s.events and s.high <= 0.5)
    assert (curve.median_low, curve.median_high) == (lower_first, upper_first) == (1, 5)
    assert curve.median_low <= curve.median <= curve.median_high


def test_no_event_means_no_median():
    curve = kaplan_meier([3, 5, 8], [False, False, False])
    assert curve.median is None
    assert curve.survival_at(10) == 1.0
    assert curve.events == 0


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 50) is None
    assert percentile([4], 90) == 4
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91)

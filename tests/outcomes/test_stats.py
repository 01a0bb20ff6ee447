"""Wilson intervals and Kaplan-Meier, against hand calculations and textbook values."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.core.numbers import percent
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
    # The median interval: the first time the lower limit reaches one half; the
    # upper limit (0.719 at 4) never does: R's survfit has no limits where the
    # survival is 0 (NA at 5), so quantile.survfit gives NA, "not reached".
    assert round(curve.steps[3].high, 3) == 0.719
    lower_first = next(s.time for s in curve.steps if s.events and s.low <= 0.5)
    assert (curve.median_low, curve.median_high) == (lower_first, None) == (1, None)
    assert curve.median_low <= curve.median


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


# The median as R's survival package defines it (quantile.survfit), against a
# port of R written here as plainly as R's own code.


def test_a_median_at_a_flat_stretch_at_one_half_is_its_midpoint():
    # S = 3/4, 1/2 from 2 to 3, 1/4, 0: R's median is 2.5, not 2.
    assert kaplan_meier([1, 2, 3, 4], [True] * 4).median == 2.5
    # A curve that ends flat at one half: midway to the last follow-up.
    assert kaplan_meier([1, 2, 3, 4], [True, True, False, False]).median == 3


#: 36 subjects: 6, 4 and 8 events at 1, 2 and 3 leave exactly 18/36 relieved
#: until the next event at 7, but the float product is just above one half.
THIRTY_SIX = (
    [(1, True)] * 6 + [(2, True)] * 4 + [(3, True)] * 8 + [(5, False)] * 2
    + [(7, True)] * 8 + [(9, False)] * 8
)  # fmt: skip


def test_a_product_of_one_half_is_one_half_within_r_tolerance():
    curve = kaplan_meier([t for t, _ in THIRTY_SIX], [e for _, e in THIRTY_SIX])
    assert curve.survival_at(3) > 0.5  # 0.5000000000000001
    assert curve.exact_survival_at(3) == Fraction(1, 2)
    assert curve.median == 5  # (3 + 7) / 2, not 7


# -- R, ported line by line ---------------------------------------------------
NA = None


def r_approx_constant_f1(x, y, v):
    """approx(x, y, xout=v, method="constant", f=1)$y with R's defaults:
    pairs with an NA removed, x sorted with tied y averaged (regularize.values),
    NA outside the range (rule=1), then approx1's bisection."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if a is not NA and b is not NA]
    xs = sorted({a for a, _ in pairs})
    tied = [[b for a, b in pairs if a == level] for level in xs]
    ys = [sum(values) / len(values) for values in tied]
    if not xs or v < xs[0] or v > xs[-1]:
        return NA
    i, j = 0, len(xs) - 1
    while i < j - 1:
        ij = (i + j) // 2
        if v < xs[ij]:
            j = ij
        else:
            i = ij
    if v == xs[j]:
        return ys[j]
    if v == xs[i]:
        return ys[i]
    return ys[j]  # f = 1: the right-hand value


def r_subscript(x, index):
    """x[index] in R: 1-based, a fractional index truncated, NA gives NA."""
    return NA if index is NA else x[int(index) - 1]


def r_findq(x, y, p, tol):
    """findq() of R/quantile.survfit.R (survival 3.x), for one p."""
    if max(value for value in y if value is not NA) < p:
        return NA
    xmax = x[-1]
    dups = [value in y[:k] for k, value in enumerate(y)]
    x = [a for a, dup in zip(x, dups, strict=True) if not dup]
    y = [b for b, dup in zip(y, dups, strict=True) if not dup]
    n = len(y)
    index = list(range(1, n + 1))
    indx1 = r_approx_constant_f1([NA if b is NA else b + tol for b in y], index, p)
    indx2 = r_approx_constant_f1([NA if b is NA else b - tol for b in y], index, p)
    x1, x2 = r_subscript(x, indx1), r_subscript(x, indx2)
    quant = NA if x1 is NA or x2 is NA else (x1 + x2) / 2
    if y[n - 1] is not NA and abs(p - y[n - 1]) < tol:
        quant = NA if x1 is NA else (x1 + xmax) / 2
    return quant


def r_survfit_log_log(times, events):
    """survfit(Surv(times, events) ~ 1, conf.type="log-log"): survfitkm.c's
    product and Greenwood sum, survfit_confint's limits (NA where S is 0)."""
    zval = 1.959963984540054  # qnorm(0.975)
    km, v1 = 1.0, 0.0
    rows = []
    for time in sorted(set(times)):
        nrisk = sum(1 for t in times if t >= time)
        d = sum(1 for t, e in zip(times, events, strict=True) if t == time and e)
        if d > 0:
            km *= (nrisk - d) / nrisk
            v1 += d / (nrisk * (nrisk - d)) if nrisk > d else math.inf
        se = math.sqrt(v1)
        if se == 0:
            lower = upper = km
        elif km in (0, 1):
            lower = upper = NA
        else:
            se2 = zval * se / math.log(km)
            lower = math.exp(-math.exp(math.log(-math.log(km)) - se2))
            upper = math.exp(-math.exp(math.log(-math.log(km)) + se2))
        rows.append((time, km, lower, upper))
    return rows


def r_median_with_limits(times, events):
    """quantile.survfit(fit, probs=0.5): doquant() on the curve and its limits."""
    rows = r_survfit_log_log(times, events)
    x = [0] + [time for time, *_ in rows]
    tol = math.sqrt(2.220446049250313e-16)  # sqrt(.Machine$double.eps)
    return tuple(
        r_findq(x, [0] + [NA if s is NA else 1 - s for s in column], 0.5, tol)
        for column in zip(*[(km, lower, upper) for _, km, lower, upper in rows], strict=True)
    )


#: Small integer times, many ties, a lot of censoring: flats at one half, curves
#: that end flat, limits that never reach one half.
tied_follow_ups = st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=1, max_size=40)


@st.composite
def halved_follow_ups(draw):
    """Follow-ups whose exact survival comes to one half at an event: some
    events and censorings, then censorings that leave a number at risk from
    which whole events halve the curve, then anything.  The float product is
    then 0.5 or a bit off it, on either side."""
    subjects = draw(st.integers(2, 60))
    follow_ups, survival, at_risk, time = [], Fraction(1), subjects, 0
    groups = st.lists(st.tuples(st.integers(1, 6), st.integers(0, 3)), max_size=6)
    for events, censored in draw(groups):
        events = min(events, at_risk - 1)
        if survival * Fraction(at_risk - events, at_risk) <= Fraction(1, 2):
            break
        censored = min(censored, at_risk - events - 1)
        follow_ups += [(time, True)] * events + [(time, False)] * censored
        survival *= Fraction(at_risk - events, at_risk)
        at_risk -= events + censored
        time += draw(st.integers(0, 2))
    # r at risk and d events with survival * (r - d) / r = 1/2.
    step = 2 * survival.numerator // math.gcd(2 * survival.numerator, survival.denominator)
    if step <= at_risk:
        kept = step * draw(st.integers(1, at_risk // step))
        follow_ups += [(time, False)] * (at_risk - kept)
        time += 1
        survivors = kept / (2 * survival)
        follow_ups += [(time, True)] * (kept - int(survivors))
        at_risk = int(survivors)
    gap_and_event = st.tuples(st.integers(1, 4), st.booleans())
    later = draw(st.lists(gap_and_event, min_size=at_risk, max_size=at_risk))
    return follow_ups + [(time + gap, event) for gap, event in later]


@settings(max_examples=2000, derandomize=True)
@given(st.one_of(tied_follow_ups, halved_follow_ups()))
def test_the_median_and_its_interval_are_those_of_r(follow_ups):
    times = [time for time, _ in follow_ups]
    events = [event for _, event in follow_ups]
    curve = kaplan_meier(times, events)
    assert (curve.median, curve.median_low, curve.median_high) == r_median_with_limits(
        times, events
    )


def test_the_port_of_r_gives_r_answers():
    # R 4.x, survival 3.x: quantile(survfit(...), 0.5) on these data.
    assert r_median_with_limits([1, 2, 3, 4], [True] * 4)[0] == 2.5
    times, events = [t for t, _ in SIX_MP], [e for _, e in SIX_MP]
    assert r_median_with_limits(times, events) == (23, 13, NA)


# -- Survival shares -----------------------------------------------------------


def test_a_survival_share_rounds_from_its_exact_product():
    # 7/8 * 4/7 = 1/2 and then 1/2 * 1/4 = 1/8: 12.5% exactly.
    curve = kaplan_meier([1, 2, 2, 2, 3, 3, 3, 4], [True] * 7 + [False])
    assert curve.exact_survival_at(2) == Fraction(1, 2)
    assert curve.exact_survival_at(3) == Fraction(1, 8)
    assert percent(curve.exact_survival_at(3)) == "13"
    assert curve.exact_survival_at(0) == 1

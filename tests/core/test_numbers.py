"""Percentages rounded half up from the exact share, at their halves."""

from __future__ import annotations

from fractions import Fraction

from tracker.core.numbers import percent


def test_percentages_round_half_up_from_the_exact_share():
    assert percent(23, of=40) == "58"  # 57.5, which a float makes 57.49999...
    assert percent(1, of=8) == "13"  # 12.5: not to the even 12
    assert percent(5, of=8) == "63"
    assert percent(1, of=200) == "1"
    assert percent(Fraction(1, 200) - Fraction(1, 10**12)) == "0"
    assert percent(1, of=16, places=1) == "6.3"  # 6.25
    assert percent(1, of=3, places=1) == "33.3"
    assert percent(0, of=7, places=1) == "0.0"
    assert percent(1, of=1000, places=1) == "0.1"
    assert percent(Fraction(1, 2)) == "50"
    assert percent(0.5) == "50"
    assert percent(1, of=1) == "100"

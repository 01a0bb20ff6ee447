"""Numbers as people read them.

A percentage is rounded half up from the exact share, never from a float that
happens to fall just under the half: 23 of 40 is 58%, 1 of 8 is 13%.
"""

from __future__ import annotations

import math
from fractions import Fraction


def percent(value: Fraction | float, of: int | Fraction = 1, places: int = 0) -> str:
    """``value`` out of ``of`` as a percentage with ``places`` decimals (the
    number, without "%"), rounded half up from the exact share: 23 of 40 is "58"
    (in floats, 23 / 40 * 100 is 57.49999...), 1 of 16 to one place is "6.3".
    Counts or fractions give the exact share; a float (a confidence bound) is
    rounded from the exact binary number it is."""
    scaled = Fraction(value) / Fraction(of) * 100 * 10**places
    rounded = math.floor(scaled + Fraction(1, 2))
    if not places:
        return str(rounded)
    sign, digits = ("-" if rounded < 0 else ""), str(abs(rounded)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"

"""Phone numbers for demo patients: only numbers that can never ring anyone.

France keeps blocks of numbers for fiction (ARCEP): 01 99 00, 02 61 91,
03 53 01, 04 65 71 and 05 36 49, each followed by four digits. Its fictional
mobile block (06 39 98) is not a number the phone library accepts as valid, so
demo patients have landlines only (and none prefers text messages).
"""

from __future__ import annotations

import random

from tracker.cases.contact import read_phone

FICTIONAL_BLOCKS = ("01 99 00", "02 61 91", "03 53 01", "04 65 71", "05 36 49")


def fictional_phone(block: str, four_digits: str) -> str:
    """The number of a fiction block, as E.164 (read through the product's rule)."""
    return read_phone(f"{block} {four_digits[:2]} {four_digits[2:]}")


def draw_fictional_phone(rng: random.Random) -> str:
    return fictional_phone(rng.choice(FICTIONAL_BLOCKS), f"{rng.randrange(10_000):04d}")

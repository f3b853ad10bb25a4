"""Money as Ilios counts it: integer micro-dollars, shown as exact cents or dollars.

One Mistral page costs $0.001 and 0.13 cent with the default margin, which whole cents cannot
hold and floats cannot add up exactly; every amount is stored and summed in micro-dollars and
only turned into cents or dollars (exact Decimals) where it is shown.
"""

from __future__ import annotations

from decimal import Decimal

MICROS_PER_DOLLAR = 1_000_000
MICROS_PER_CENT = 10_000


def cents(micros: int) -> Decimal:
    return Decimal(micros) / MICROS_PER_CENT


def dollars(micros: int | None) -> str:
    """`$0.001300`: six decimals, since a Mistral page is a tenth of a cent."""
    return "—" if micros is None else f"${dollars_amount(micros)}"


def dollars_amount(micros: int | Decimal) -> str:
    """The bare amount, `0.001300`, for CSV columns that are in dollars already."""
    return f"{Decimal(micros).scaleb(-6):.6f}"

"""Exact money and ratio formatting: Decimal in, strings and rounded numbers out."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from functools import lru_cache

#: Arithmetic context for every division in the core: 28 significant digits.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP)
CENT = Decimal("0.01")
RATIO_QUANTUM = Decimal("0.0001")
ZERO = Decimal(0)


def format_money(value: Decimal | None) -> str | None:
    """``Decimal`` -> string with exactly 2 decimals, rounded half-up; None stays None."""
    if value is None:
        return None
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half-up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def divide(numerator: Decimal | int | None, denominator: Decimal | int | None) -> Decimal | None:
    """Exact quotient, or None when either side is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return CONTEXT.divide(Decimal(numerator), Decimal(denominator))


def ratio(value: Decimal | None) -> float | None:
    """A ratio as a JSON number rounded half-up to 4 decimals (None stays None)."""
    if value is None:
        return None
    return float(value.quantize(RATIO_QUANTUM, rounding=ROUND_HALF_UP))


def plan_ratio(value: Decimal) -> float | None:
    """``ratio`` of a value that recurs on every render (a plan's weight): kept. Equal
    values round alike, but for the sign of a zero, which is part of the key."""
    return _plan_ratio(value, value.is_signed())


@lru_cache(maxsize=256)
def _plan_ratio(value: Decimal, signed: bool) -> float | None:
    return ratio(value)


def from_scaled(units: int, exponent: int) -> Decimal:
    """``units``·10^``exponent`` as the Decimal it stands for (that exponent kept)."""
    return Decimal(f"{units}E{exponent}")


def add_scaled(units: int, exponent: int, more: int, more_exponent: int) -> tuple[int, int]:
    """``units``·10^``exponent`` + ``more``·10^``more_exponent`` as (units, exponent), exactly,
    at the finer of the two exponents (amounts kept as integers of their smallest unit).
    Adding to nothing gives ``more`` itself: a sum of one amount shares its int, no copy."""
    if not units and more_exponent <= exponent:
        return more, more_exponent
    if more_exponent < exponent:
        return units * 10 ** (exponent - more_exponent) + more, more_exponent
    return units + more * 10 ** (more_exponent - exponent), exponent

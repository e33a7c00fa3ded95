"""The weights of a campaign's combined ranking (综合评定): two-decimal figures in 0–1.

A campaign sets them (``portal.campaigns``), the results rank by them
(``results.ranking``); both round as the published figures are.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
DEFAULT_REVIEW_WEIGHT = Decimal("0.70")
DEFAULT_VOTE_WEIGHT = Decimal("0.30")


def cents(value: Decimal) -> Decimal:
    """Round half up to two decimals, as the published figures are."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_weight(raw: object) -> Decimal:
    """A weight from a form: 0–1 with at most two decimals; raise ValueError."""
    text = str(raw if raw is not None else "").strip()
    try:
        value = Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation
        raise ValueError(text) from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1) or cents(value) != value:
        raise ValueError(text)
    return cents(value)

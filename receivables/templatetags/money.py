"""Money for people: two decimals and thousands separators, computed on Decimal.

`floatformat` goes through float for some inputs and `intcomma` depends on the locale
settings; amounts on a statement must be exact and look the same everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")


def cents(value: Decimal | int | str | None) -> Decimal | None:
    """The amount as a Decimal rounded half up to the cent, in Decimal arithmetic; None
    for None, "" or anything that is not a finite number."""
    if value is None or value == "":
        return None
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        if not amount.is_finite():
            return None
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def money(value: Decimal | int | str | None) -> str:
    """`Decimal("1234567.5")` -> `"1,234,567.50"`; empty for None or non-numbers."""
    amount = cents(value)
    if amount is None:
        return ""
    return f"{amount:,.2f}"

"""Money for people: two decimals and thousands separators, computed on Decimal.

`floatformat` goes through float for some inputs and `intcomma` depends on the locale
settings; amounts on a statement must be exact and look the same everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

CENT = Decimal("0.01")


@register.filter
def money(value: Decimal | int | str | None) -> str:
    """`Decimal("1234567.5")` -> `"1,234,567.50"`; empty for None or non-numbers."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
        amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    return f"{amount:,.2f}"

"""Money and dates for people, written the way the reader's language writes them.

`floatformat` goes through float for some inputs and `intcomma` depends on the locale
settings; amounts on a statement must be exact. So an amount is rounded half up to the
cent in Decimal arithmetic (`cents`) and handed to Babel as Decimal, in the Babel locale
of the active language (`receivables.locale_format`): `1,234.50` in English,
`1.234,50` in Spanish, `1,234.50` in Chinese. Always two decimals, the ledger's precision.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from django import template

from receivables.locale_format import babel_locale

register = template.Library()

CENT = Decimal("0.01")

# Grouped, always two decimals (also for currencies Babel writes without cents).
AMOUNT_PATTERN = "#,##0.00"


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
    """`Decimal("1234567.5")` -> `"1,234,567.50"` in English, `"1.234.567,50"` in
    Spanish; empty for None or non-numbers."""
    amount = cents(value)
    if amount is None:
        return ""
    return format_decimal(amount, format=AMOUNT_PATTERN, locale=babel_locale())


@register.filter
def local_date(value: Any) -> str:
    """A day in the active language's medium format: `2 Dec 2026`, `2 dic 2026`,
    `2026年12月2日`; empty for anything that is not a date (so `|default:"—"` works)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return ""
    return format_date(value, format="medium", locale=babel_locale())

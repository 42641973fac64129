"""Amounts, dates and page numbers on a letter, written the way its reader writes them.

A letter is rendered inside `translation.override(context["language"])`
(`dunning.printing.render_pdf`); every filter here takes that language as its argument
(`{{ letter.deadline|long_date:language }}`) and falls back to the active language.
Babel does the writing, in the locale of the letter's language (`LOCALES`): amounts with
their currency in running text (`currency_amount`), plain amounts in tables (`amount`),
long dates in running text and medium ones in tables.

Money stays Decimal end to end: rounded to the cent by the ledger's own rule
(`receivables.templatetags.money.cents`) and handed to Babel as Decimal.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from django import template
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from receivables.locale_format import babel_locale
from receivables.models import ZERO, Payment
from receivables.templatetags.money import cents

register = template.Library()

# Amounts in tables: grouped, always two decimals (the ledger's precision).
AMOUNT_PATTERN = "#,##0.00"

# The markers `{% blocktranslate %}` leaves where the page counters go (`css_page_counters`).
PAGE, PAGES = "[[page]]", "[[pages]]"

PAYMENT_METHODS: dict[str, Promise] = {
    Payment.Method.TRANSFER: _("Bank transfer"),
    Payment.Method.CASH: _("Cash"),
    Payment.Method.CHEQUE: _("Cheque"),
    Payment.Method.CARD: _("Card"),
    Payment.Method.OFFSET: _("Offset / discount"),
    Payment.Method.OTHER: _("Other"),
}


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None


@register.filter
def amount(value: Decimal | int | str | None, language: str | None = None) -> str:
    """A plain amount for a table column: `1.234,50` in Spanish, `1,234.50` in English."""
    exact = cents(value)
    if exact is None:
        return ""
    return format_decimal(exact, format=AMOUNT_PATTERN, locale=babel_locale(language))


@register.simple_tag(takes_context=True)
def currency_amount(
    context: template.Context,
    value: Decimal | int | str | None,
    currency: str | None = None,
    language: str | None = None,
) -> str:
    """An amount with its currency for running text, in the dealer's currency and the
    letter's language unless given: `€1,234.50`, `1.234,50 €`. Always two decimals, as
    the ledger keeps them (also for currencies Babel writes without cents)."""
    exact = cents(value)
    if exact is None:
        return ""
    dealer = context.get("dealer")
    code = currency or getattr(dealer, "currency", "") or "EUR"
    return format_currency(
        exact,
        code,
        locale=babel_locale(language or context.get("language")),
        currency_digits=False,
    )


@register.filter
def long_date(value: Any, language: str | None = None) -> str:
    """A date in running text: `16 March 2026`, `16 de marzo de 2026`, `2026年3月16日`."""
    day = _day(value)
    return format_date(day, format="long", locale=babel_locale(language)) if day else ""


@register.filter
def medium_date(value: Any, language: str | None = None) -> str:
    """A date in a table: `16 Mar 2026`, `16 mar 2026`, `2026年3月16日`."""
    day = _day(value)
    return format_date(day, format="medium", locale=babel_locale(language)) if day else ""


@register.filter
def percent(value: Decimal | int | str | None, language: str | None = None) -> str:
    """A rate given in percent, with two decimals: `9.00%`, `9,00 %`."""
    exact = cents(value)
    if exact is None:
        return ""
    locale = Locale.parse(babel_locale(language))
    pattern = locale.percent_formats[None].pattern.replace("#,##0", AMOUNT_PATTERN, 1)
    return format_percent(exact / 100, format=pattern, locale=locale)


@register.filter
def sum_of(rows: Any, field: str) -> Decimal:
    """The Decimal sum of one field over rows (`payments|sum_of:"amount"`)."""
    return sum((getattr(row, field) for row in rows), ZERO)


@register.filter
def payment_method(value: str) -> str:
    """A payment's method in the letter's language."""
    label = PAYMENT_METHODS.get(value)
    return str(label) if label is not None else value


@register.filter
def country_name(code: str) -> str:
    """The last line of an address abroad: the country's English name in capitals, as the
    Universal Postal Union accepts it everywhere (`DE` -> `GERMANY`)."""
    code = (code or "").strip().upper()
    return Locale.parse("en").territories.get(code, code).upper()


LENGTH = re.compile(r"[0-9]+(\.[0-9]+)?(mm|cm|in|pt|px)")
SVG_SIZE = re.compile(r'^<svg width="(?P<width>[0-9.]+)" height="(?P<height>[0-9.]+)"')


@register.filter
def svg_size(svg: str, size: str) -> SafeString:
    """An inline SVG drawn `size` wide and high (`reply_qr_svg|svg_size:"24mm"`): segno
    writes its pixel size without a viewBox, so the drawing is given one to scale by.
    The SVG comes from our own code (`dunning.printing.statement_context`), never from
    a user."""
    svg = str(svg)
    found = SVG_SIZE.match(svg)
    if found is None or not LENGTH.fullmatch(size):
        return mark_safe(svg)
    box = f'viewBox="0 0 {found["width"]} {found["height"]}"'
    return mark_safe(f'<svg width="{size}" height="{size}" {box}' + svg[found.end() :])


def _css_escape(text: str) -> str:
    return "".join(
        char if char.isprintable() and char not in '"\\<>&' else f"\\{ord(char):x} "
        for char in text
    )


@register.filter
def css_string(value: Any) -> SafeString:
    """A CSS string literal for a `<style>` element: quoted, with quotes, backslashes,
    line breaks and `<` escaped the CSS way (`escapejs` escapes the JavaScript way)."""
    return mark_safe(f'"{_css_escape(str(value))}"')


@register.filter
def css_page_counters(label: Any) -> SafeString:
    """A translated `Page [[page]] of [[pages]]` as the CSS `content` of a page margin
    box: `"Page " counter(page) " of " counter(pages)`, in the translation's word order."""
    parts = []
    for part in re.split(f"({re.escape(PAGE)}|{re.escape(PAGES)})", str(label)):
        if part == PAGE:
            parts.append("counter(page)")
        elif part == PAGES:
            parts.append("counter(pages)")
        elif part:
            parts.append(f'"{_css_escape(part)}"')
    return mark_safe(" ".join(parts) or '""')

"""Exchange rates: converting amounts of the dealers' currencies to the reporting currency
(`settings.REPORTING_CURRENCY`) for whole-book figures.

A rate applies from its day until the next rate of its currency, so the rate of a day is
the latest one on or before it. A currency without such a rate is an error
(`MissingRate`), never a rate of 1: adding CZK to EUR unconverted would overstate the
book 25 times over without anyone noticing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DecimalField, F, OuterRef, Subquery, Value, When

from receivables.models import ExchangeRate

# The services' helpers, so that a rate is saved, stamped and refused exactly like a
# dealer: only when something differs, with one ValidationError before any write.
from receivables.services import raise_if_errors, save_changes
from receivables.validation import (
    CENT,
    RATE_PLACES,
    as_sentence,
    rate_currency_problem,
    rate_problem,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ONE = Decimal(1)
# Enough digits for the exact product of the largest amount (14 digits) and the largest
# rate (18 digits), so that the only rounding is the one to cents.
_PRODUCT_PRECISION = 40


class MissingRate(Exception):
    """No rate of `currency` on or before `on`."""

    def __init__(self, currency: str, on: dt.date) -> None:
        super().__init__(f"No exchange rate for {currency} on or before {on.isoformat()}.")
        self.currency = currency
        self.on = on


@dataclass(frozen=True)
class Rates:
    """The rates in force on `on`, by currency, in units of `reporting` for one unit.

    `by_currency` holds only the currencies that have a rate; the reporting currency
    is never in it (its rate is 1)."""

    on: dt.date
    reporting: str
    by_currency: dict[str, Decimal]

    def rate(self, currency: str) -> Decimal:
        """Units of the reporting currency for one unit of `currency`."""
        if currency == self.reporting:
            return ONE
        found = self.by_currency.get(currency)
        if found is None:
            raise MissingRate(currency, self.on)
        return found

    def to_reporting(self, amount: Decimal, currency: str) -> Decimal:
        """`amount` of `currency` in the reporting currency, rounded half up to cents."""
        rate = self.rate(currency)
        with localcontext(prec=_PRODUCT_PRECISION):
            return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def missing(self, currencies: Iterable[str]) -> list[str]:
        """The currencies among these that cannot be converted, sorted, each once."""
        return sorted({c for c in currencies if c != self.reporting and c not in self.by_currency})


def rates_on(on: dt.date, currencies: Iterable[str]) -> Rates:
    """The latest rate on or before `on` of each of `currencies`, in one query however
    many there are (none when only the reporting currency is asked for).

    A correlated subquery picks each currency's latest day; the unique index on
    (currency, on) answers it by a seek, on SQLite and PostgreSQL alike."""
    reporting: str = settings.REPORTING_CURRENCY
    wanted = sorted(set(currencies) - {reporting})
    if not wanted:
        return Rates(on=on, reporting=reporting, by_currency={})
    latest_day = (
        ExchangeRate.objects.filter(currency=OuterRef("currency"), on__lte=on)
        .order_by("-on")
        .values("on")[:1]
    )
    rows = (
        ExchangeRate.objects.filter(currency__in=wanted, on=Subquery(latest_day))
        .order_by()  # a dict needs no sorting
        .values_list("currency", "rate")
    )
    return Rates(on=on, reporting=reporting, by_currency=dict(rows))


def rate_expression(currency: F, on: dt.date) -> Case:
    """SQL for the rate of the currency in the field `currency` on `on`, for ranking many
    dealers by an amount in the reporting currency inside one query: 1 for the reporting
    currency, the latest rate on or before `on` otherwise, NULL when there is none (a
    caller ranks those last and says so; it never takes them as 1)."""
    latest = (
        ExchangeRate.objects.filter(currency=OuterRef(currency.name), on__lte=on)
        .order_by("-on")
        .values("rate")[:1]
    )
    return Case(
        When(**{currency.name: settings.REPORTING_CURRENCY}, then=Value(ONE)),
        default=Subquery(latest),
        output_field=DecimalField(max_digits=18, decimal_places=8),
    )


@transaction.atomic
def upsert_rate(
    *,
    currency: str,
    on: dt.date,
    rate: Decimal,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> ExchangeRate:
    """Create the rate of `currency` on `on` or set it to `rate`. An identical second
    call writes nothing, not even a history row. The reporting currency is refused: its
    rate is always 1."""
    errors: dict[str, str] = {}
    problem = rate_currency_problem(currency)
    if problem:
        errors["currency"] = as_sentence(problem)
    problem = rate_problem(rate)
    if problem:
        errors["rate"] = f"The rate {problem}."
    raise_if_errors(errors)

    stored = ExchangeRate.objects.select_for_update().filter(
        currency=currency, on=on
    ).first() or ExchangeRate(currency=currency, on=on)
    # As the database will hold it, so that the returned object shows what was stored.
    save_changes(stored, {"rate": rate.quantize(RATE_PLACES)}, user=user, reason=reason)
    return stored

"""Ledger reports whose definitions are part of the public contract (docs/API.md
"Reports").

Aging by bucket lives on the Order QuerySet (`Order.objects.aging(on)`); here are the
reports across dealers, which must know their currency: per currency in SQL, then one
currency chosen or every one converted to the reporting currency, never a bare sum of
different currencies. Every figure is summed in SQL; Python only converts and divides.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, Expression, F, Func, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from receivables.models import (
    AGING_BUCKETS,
    CENT,
    ZERO,
    Dealer,
    DealerQuerySet,
    Order,
    OrderQuerySet,
    aging_from_rows,
    money_sum,
)
from receivables.rates import rates_on


class DaysBetween(Func):
    """Whole days from `start` to `end` (`end - start`) for two date expressions."""

    output_field = models.IntegerField()
    arg_joiner = " - "
    template = "(%(expressions)s)"

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra,
        )


def two_places(value: Decimal) -> Decimal:
    """Round half up to cents, as docs/API.md requires for every KPI."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _orders(dealers: DealerQuerySet | None) -> OrderQuerySet:
    orders = Order.objects.all()
    return orders if dealers is None else orders.of_dealers(dealers)


DEALER_CURRENCY = F("dealer__currency")
CurrencyKey = F | Expression


def currency_of_orders(dealers: DealerQuerySet | None) -> CurrencyKey:
    """What to group the orders of `dealers` (every dealer when None) by for sums per
    currency: their dealer's currency, or that currency as a constant when the dealers
    all share one (most books), so that the sums read no dealer at all."""
    found = (Dealer.objects.all() if dealers is None else dealers).order_by()
    currencies = list(found.values_list("currency", flat=True).distinct()[:2])
    if len(currencies) == 1:
        return Value(currencies[0], output_field=models.CharField())
    return DEALER_CURRENCY


def open_by_currency(
    orders: OrderQuerySet, on: dt.date, currency: CurrencyKey = DEALER_CURRENCY
) -> dict[str, Decimal]:
    """Open amount of these orders at the end of `on` per currency of their dealers."""
    return _by_currency(orders.open_at(on), "open_amount", currency)


def closing_by_currency(
    orders: OrderQuerySet, on: dt.date, currency: CurrencyKey = DEALER_CURRENCY
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """(open amount, its part not yet past due) of these orders at the end of `on`, per
    currency of their dealers, in one query over what is open on the day."""
    rows = (
        orders.open_at(on)
        .values(currency=currency)
        .annotate(
            closing=money_sum("open_amount"),
            current=money_sum("open_amount", filter=Q(due_on__gte=on)),
        )
        .order_by()
        .values_list("currency", "closing", "current")
    )
    closing: dict[str, Decimal] = {}
    current: dict[str, Decimal] = {}
    for code, amount, not_due in rows:
        closing[code], current[code] = amount, not_due
    return closing, current


def _by_currency(
    orders: OrderQuerySet, amount: str, currency: CurrencyKey = DEALER_CURRENCY
) -> dict[str, Decimal]:
    rows = (
        orders.values(currency=currency)
        .annotate(total=money_sum(amount))
        .order_by()
        .values_list("currency", "total")
    )
    return dict(rows)  # type: ignore[arg-type]


def lateness_of_orders_paid_between(
    orders: OrderQuerySet, start: dt.date, end: dt.date
) -> tuple[int, int]:
    """(number of orders that became fully paid within [start, end], total days late).

    An order becomes fully paid on the day its allocations reach its amount
    (`Order.settled_on`); days late are max(0, paid_on - due_on).
    """
    row = orders.filter(settled_on__gte=start, settled_on__lte=end).aggregate(
        count=Count("*"),  # COUNT(*): answered from the settled_on index alone
        days=Coalesce(Sum(Greatest(DaysBetween(F("settled_on"), F("due_on")), Value(0))), 0),
    )
    return row["count"], row["days"]


def in_one_currency(
    amounts: dict[str, Decimal], *, currency: str | None, on: dt.date
) -> tuple[str, Decimal]:
    """Amounts per currency as one amount: those of `currency` alone when it is given,
    otherwise every currency converted to the reporting currency at the rates of `on`.

    Raises `MissingRate`, naming the currency, when a rate is missing: a figure is never
    summed across currencies as if they were one.
    """
    if currency is not None:
        return currency, amounts.get(currency, ZERO)
    rates = rates_on(on, amounts)
    converted = (rates.to_reporting(amount, code) for code, amount in amounts.items())
    return rates.reporting, sum(converted, ZERO)


def aging_report(orders: OrderQuerySet, on: dt.date, *, currency: str | None = None) -> dict:
    """The aging report of these orders on `on` in one currency: the orders of
    `currency`'s dealers, or all of them converted to the reporting currency at the
    rates of `on` (bucket by bucket). The answer names its `currency`."""
    if currency is not None:
        report = orders.filter(dealer__currency=currency).aging(on)
        return {**report, "currency": currency}
    by_currency = orders.aging_by_currency(on)
    rates = rates_on(on, by_currency)
    rows: dict[str, dict[str, Any]] = {
        key: {"bucket": key, "count": 0, "amount": ZERO} for key, _low, _high in AGING_BUCKETS
    }
    for code, report in by_currency.items():
        for bucket in report["buckets"]:
            row = rows[bucket["key"]]
            row["count"] += bucket["count"]
            row["amount"] += rates.to_reporting(bucket["amount"], code)
    return {**aging_from_rows(on, rows.values()), "currency": rates.reporting}


def kpi_report(
    *,
    start: dt.date,
    end: dt.date,
    dealers: DealerQuerySet | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """The ledger's KPIs over [start, end], both days included (docs/API.md "KPIs").

    With `currency`, the figures of that currency's dealers alone; without, every amount
    converted to the reporting currency at the rates of `end` (one rate per currency
    for the whole period, so that the ratios compare like with like). The answer names
    its `currency`. Ratios are None when their denominator is zero.
    """
    if end < start:
        raise ValueError("The period ends before it starts.")
    orders = _orders(dealers)
    if currency is not None:
        dealers = (Dealer.objects.all() if dealers is None else dealers).filter(currency=currency)
        orders = orders.filter(dealer__currency=currency)
    grouped_by = currency_of_orders(dealers)
    closing_amounts, closing_current_amounts = closing_by_currency(orders, end, grouped_by)
    ordered_in_period = orders.filter(ordered_on__gte=start, ordered_on__lte=end)
    sums = {
        "sales": _by_currency(ordered_in_period, "amount", grouped_by),
        "opening": open_by_currency(orders, start - dt.timedelta(days=1), grouped_by),
        "closing": closing_amounts,
        "closing_current": closing_current_amounts,
    }
    named = currency
    totals: dict[str, Decimal] = {}
    for name, amounts in sums.items():
        named, totals[name] = in_one_currency(amounts, currency=currency, on=end)
    sales, opening = totals["sales"], totals["opening"]
    closing, closing_current = totals["closing"], totals["closing_current"]
    paid_count, days_late = lateness_of_orders_paid_between(orders, start, end)

    days = Decimal((end - start).days + 1)
    dso = two_places(closing / sales * days) if sales else None
    collectible = opening + sales - closing_current
    cei = two_places((opening + sales - closing) / collectible * 100) if collectible else None
    average_days_late = two_places(Decimal(days_late) / paid_count) if paid_count else None
    return {
        "currency": named or settings.REPORTING_CURRENCY,
        "sales": two_places(sales),
        "opening": two_places(opening),
        "closing": two_places(closing),
        "closing_current": two_places(closing_current),
        "dso": dso,
        "cei": cei,
        "average_days_late": average_days_late,
        "orders_paid": paid_count,
    }


__all__ = ["aging_report", "in_one_currency", "kpi_report", "two_places"]

"""Ledger reports whose definitions are part of the public contract (API.md "Reports").

Aging lives on the Order QuerySet (`Order.objects.aging(on)`); the KPIs are here because
they combine several figures. Every figure is summed in SQL; Python only divides.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.db.models import Count, F, Func, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from dunning.models import Promise
from receivables.models import CENT, DealerQuerySet, Order, OrderQuerySet, money_sum


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
    """Round half up to cents, as API.md requires for every KPI."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _orders(dealers: DealerQuerySet | None) -> OrderQuerySet:
    orders = Order.objects.all()
    if dealers is not None:
        orders = orders.filter(dealer__in=dealers)
    return orders


def open_total(orders: OrderQuerySet, on: dt.date, *, not_due_only: bool = False) -> Decimal:
    """Open amount of these orders at the end of `on` (only the part not yet past due when
    `not_due_only`)."""
    open_orders = orders.not_settled_on(on).open_on(on)
    if not_due_only:
        open_orders = open_orders.filter(due_on__gte=on)
    return open_orders.aggregate(total=money_sum("open_amount"))["total"]


def lateness_of_orders_paid_between(
    orders: OrderQuerySet, start: dt.date, end: dt.date
) -> tuple[int, int]:
    """(number of orders that became fully paid within [start, end], total days late).

    An order becomes fully paid on the day its allocations reach its amount
    (`Order.settled_on`); days late are max(0, paid_on - due_on).
    """
    row = orders.filter(settled_on__gte=start, settled_on__lte=end).aggregate(
        count=Count("pk"),
        days=Coalesce(Sum(Greatest(DaysBetween(F("settled_on"), F("due_on")), Value(0))), 0),
    )
    return row["count"], row["days"]


def kpi_report(
    *, start: dt.date, end: dt.date, dealers: DealerQuerySet | None = None
) -> dict[str, Decimal | None]:
    """The KPIs of API.md over [start, end], both days included.

    Ratios are None when their denominator is zero (no sales, nothing to collect).
    """
    if end < start:
        raise ValueError("The period ends before it starts.")
    orders = _orders(dealers)
    sales = orders.filter(ordered_on__gte=start, ordered_on__lte=end).aggregate(
        total=money_sum("amount")
    )["total"]
    opening = open_total(orders, start - dt.timedelta(days=1))
    closing = open_total(orders, end)
    closing_current = open_total(orders, end, not_due_only=True)
    paid_count, days_late = lateness_of_orders_paid_between(orders, start, end)

    days = Decimal((end - start).days + 1)
    dso = two_places(closing / sales * days) if sales else None
    collectible = opening + sales - closing_current
    cei = two_places((opening + sales - closing) / collectible * 100) if collectible else None
    average_days_late = two_places(Decimal(days_late) / paid_count) if paid_count else None
    return {
        "sales": two_places(sales),
        "opening": two_places(opening),
        "closing": two_places(closing),
        "closing_current": two_places(closing_current),
        "dso": dso,
        "cei": cei,
        "average_days_late": average_days_late,
        "orders_paid": Decimal(paid_count),
        "broken_promise_rate": broken_promise_rate(start=start, end=end, dealers=dealers),
    }


def broken_promise_rate(
    *, start: dt.date, end: dt.date, dealers: DealerQuerySet | None = None
) -> Decimal | None:
    """Share (percent) of promises due in the period that were broken or only partly kept."""
    promises = Promise.objects.filter(due_on__gte=start, due_on__lte=end).exclude(
        status=Promise.Status.OPEN
    )
    if dealers is not None:
        promises = promises.filter(dealer__in=dealers)
    row = promises.aggregate(
        decided=Count("pk"),
        broken=Count(
            "pk", filter=Q(status__in=[Promise.Status.BROKEN, Promise.Status.PARTLY_KEPT])
        ),
    )
    if not row["decided"]:
        return None
    return two_places(Decimal(row["broken"]) * 100 / row["decided"])


__all__ = ["kpi_report", "two_places"]

"""The ledger endpoints of the JSON API (docs/API.md "Ledger" and "Reports"): orders,
payments and the aging report. The dealer endpoints and the KPIs add figures of the
collection workflow and are served by `dunning.api`.

Views here parse, check permissions and shape answers; the rules live in
`receivables.services` (writes) and on the QuerySets (balances, aging).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from receivables import reports
from receivables.api_types import (
    Currency,
    Day,
    Errors,
    KeyRef,
    MoneyIn,
    OrderNumber,
    PaymentReference,
    PlainText,
    Username,
    change_reason,
    money,
    money_or_none,
    require,
)
from receivables.dates import business_today
from receivables.models import Allocation, Dealer, Order, Payment
from receivables.services import (
    LineInput,
    payment_unallocated,
    upsert_order,
    upsert_payment,
)

ledger_router = Router(tags=["ledger"])
reports_router = Router(tags=["reports"])


# --- Schemas --------------------------------------------------------------------------------


class LineIn(Schema):
    product: Annotated[PlainText, Field(min_length=1, max_length=200)]
    quantity: Decimal = Field(max_digits=14, decimal_places=3)
    unit_price: MoneyIn


class LineOut(Schema):
    product: str
    quantity: str
    unit_price: str


class OrderIn(Schema):
    """An order (the invoice). Optional fields left out keep their stored value; `lines`,
    when given, replace the stored lines."""

    dealer: KeyRef = Field(description="The dealer's code")
    ordered_on: Day
    due_on: Day
    amount: MoneyIn
    disputed: bool = False
    dispute_reason: Annotated[PlainText, Field(max_length=2000)] = ""
    disputed_amount: MoneyIn | None = None
    lines: list[LineIn] = Field(default_factory=list)


class OrderOut(Schema):
    number: str
    dealer: str
    ordered_on: dt.date
    due_on: dt.date
    amount: str
    disputed: bool
    dispute_reason: str
    disputed_amount: str | None
    lines: list[LineOut]
    paid: str = Field(description="Allocated to this order so far")
    open_amount: str


class PaymentIn(Schema):
    """A payment. Left out, `order` and `method` keep their stored value."""

    dealer: KeyRef = Field(description="The dealer's code")
    received_on: Day
    amount: MoneyIn
    order: KeyRef | None = Field(None, description="Number of the order the dealer named")
    method: Payment.Method = Payment.Method.TRANSFER


class AllocationOut(Schema):
    order: str
    amount: str
    applied_on: dt.date


class PaymentOut(Schema):
    reference: str
    dealer: str
    received_on: dt.date
    amount: str
    method: str
    order: str | None
    allocations: list[AllocationOut]
    unallocated: str = Field(description="Credit left for the dealer's next orders")


class AgingQuery(Schema):
    as_of: Day | None = Field(None, description="Default: today")
    dealer: KeyRef | None = Field(None, description="A dealer's code")
    collector: Username | None = Field(None, description="A collector's username")
    currency: Currency | None = Field(
        None,
        description="Only dealers billed in this currency; without it every amount is "
        "converted to the reporting currency at the rates of `as_of`",
    )


class AgingBucket(Schema):
    key: str
    count: int
    amount: str


class AgingTotal(Schema):
    count: int
    amount: str


class AgingOut(Schema):
    as_of: dt.date
    currency: str = Field(
        description="The currency of the amounts: the one asked for, or the reporting "
        "currency every amount was converted to"
    )
    buckets: list[AgingBucket]
    total: AgingTotal


# --- Helpers --------------------------------------------------------------------------------


def dealer_ledger_answer(dealer: Dealer) -> dict[str, Any]:
    """The ledger's part of a dealer's answer, from a dealer annotated by `with_balance`
    (the collection figures are added by the dealer endpoint, `dunning.api.dealers`)."""
    return {
        "code": dealer.code,
        "name": dealer.name,
        "country": dealer.country,
        "currency": dealer.currency,
        "language": dealer.language,
        "address": dealer.address,
        "postal_code": dealer.postal_code,
        "city": dealer.city,
        "phone": dealer.phone,
        "region": dealer.region,
        "payment_terms_days": dealer.payment_terms_days,
        "credit_limit": money(dealer.credit_limit),
        "collector": dealer.collector.get_username() if dealer.collector else None,
        "balance": money(dealer.balance),  # type: ignore[attr-defined]
        "overdue": money(dealer.overdue),  # type: ignore[attr-defined]
        "oldest_due_on": dealer.oldest_due_on,  # type: ignore[attr-defined]
    }


def _order_answer(order_id: int) -> dict[str, Any]:
    order = (
        Order.objects.with_paid()
        .select_related("dealer")
        .prefetch_related("lines")
        .get(pk=order_id)
    )
    paid: Decimal = order.paid  # type: ignore[attr-defined]
    return {
        "number": order.number,
        "dealer": order.dealer.code,
        "ordered_on": order.ordered_on,
        "due_on": order.due_on,
        "amount": money(order.amount),
        "disputed": order.disputed,
        "dispute_reason": order.dispute_reason,
        "disputed_amount": money_or_none(order.disputed_amount),
        "lines": [
            {
                "product": line.product,
                "quantity": str(line.quantity),
                "unit_price": money(line.unit_price),
            }
            for line in order.lines.all()
        ],
        "paid": money(paid),
        "open_amount": money(order.amount - paid),
    }


def _payment_answer(payment_id: int) -> dict[str, Any]:
    payment = (
        Payment.objects.select_related("dealer", "order")
        .prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("order"))
        )
        .get(pk=payment_id)
    )
    return {
        "reference": payment.reference,
        "dealer": payment.dealer.code,
        "received_on": payment.received_on,
        "amount": money(payment.amount),
        "method": payment.method,
        "order": payment.order.number if payment.order else None,
        "allocations": [
            {
                "order": allocation.order.number,
                "amount": money(allocation.amount),
                "applied_on": allocation.applied_on,
            }
            for allocation in payment.allocations.all()
        ],
        "unallocated": money(payment_unallocated(payment)),
    }


# --- Ledger ---------------------------------------------------------------------------------


@ledger_router.put("/orders/{number}", response={200: OrderOut, codes_4xx: Errors})
def put_order(request: HttpRequest, number: OrderNumber, payload: OrderIn) -> dict[str, Any]:
    """Create or update an order, then re-allocate the dealer's payments."""
    require(request, "receivables.add_order", "receivables.change_order")
    values = payload.model_dump(exclude_unset=True)
    if "lines" in values:
        values["lines"] = [LineInput(**line) for line in values["lines"]]
    order = upsert_order(number=number, user=request.user, reason=change_reason(request), **values)
    return _order_answer(order.pk)


@ledger_router.put("/payments/{reference}", response={200: PaymentOut, codes_4xx: Errors})
def put_payment(
    request: HttpRequest, reference: PaymentReference, payload: PaymentIn
) -> dict[str, Any]:
    """Create or update a payment, then re-allocate: the named order first, then the
    oldest due orders; what is left stays as dealer credit."""
    require(request, "receivables.add_payment", "receivables.change_payment")
    values = payload.model_dump(exclude_unset=True)
    if "method" in values:
        values["method"] = str(values["method"])
    payment = upsert_payment(
        reference=reference, user=request.user, reason=change_reason(request), **values
    )
    return _payment_answer(payment.pk)


# --- Reports --------------------------------------------------------------------------------


@reports_router.get("/aging", response={200: AgingOut, codes_4xx: Errors})
def aging_report(request: HttpRequest, query: Query[AgingQuery]) -> dict[str, Any]:
    """Open orders by age on `as_of`, over the dealers this user may see, in the
    `currency` asked for or converted to the reporting currency (409 when a rate is
    missing). A `dealer` or `collector` that matches none of them gives an empty report."""
    require(request, "receivables.view_order")
    dealers = Dealer.objects.visible_to(request.user)
    if query.dealer is not None:
        dealers = dealers.filter(code=query.dealer)
    if query.collector is not None:
        dealers = dealers.filter(collector__username=query.collector)
    report = reports.aging_report(
        Order.objects.of_dealers(dealers),
        query.as_of or business_today(),
        currency=query.currency,
    )
    return {
        "as_of": report["as_of"],
        "currency": report["currency"],
        "buckets": [
            {"key": bucket["key"], "count": bucket["count"], "amount": money(bucket["amount"])}
            for bucket in report["buckets"]
        ],
        "total": {
            "count": report["total"]["count"],
            "amount": money(report["total"]["amount"]),
        },
    }


__all__ = ["ledger_router", "reports_router"]

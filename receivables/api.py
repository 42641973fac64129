"""The ledger and report endpoints of the JSON API (API.md "Ledger" and "Reports").

Views here parse, check permissions and shape answers; the rules live in
`receivables.services` (writes, credit rules) and on the QuerySets (balances, aging).
Money leaves as a string with two decimals, never as a number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx
from ninja.responses import codes_4xx
from pydantic import AfterValidator, StringConstraints

from receivables.models import ZERO, Allocation, Dealer, Order, Payment
from receivables.reports import kpi_report, two_places
from receivables.services import (
    LineInput,
    business_today,
    collection_summary,
    credit_status,
    payment_unallocated,
    upsert_dealer,
    upsert_order,
    upsert_payment,
)

ledger_router = Router(tags=["ledger"])
reports_router = Router(tags=["reports"])


def _refuse_nul(value: str) -> str:
    # PostgreSQL cannot store NUL characters: refuse them as bad input, not fail later.
    if "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
PlainText = Annotated[Text, StringConstraints(strip_whitespace=True)]
# Business keys are matched exactly as the ERP writes them (leading zeros matter).
DealerCode = PathEx[Text, P(min_length=1, max_length=40)]
OrderNumber = PathEx[Text, P(min_length=1, max_length=40)]
PaymentReference = PathEx[Text, P(min_length=1, max_length=60)]
KeyRef = Annotated[Text, StringConstraints(min_length=1, max_length=60)]
Username = Annotated[Text, StringConstraints(min_length=1, max_length=150)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A string ("1234.50") or a JSON number; services check the sign.
MoneyIn = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
# Dates a ledger can hold; also keeps date arithmetic in the reports away from year 1.
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))]


def money(value: Decimal) -> str:
    """Money as API.md writes it: a string with two decimals."""
    return str(two_places(value))


def money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else money(value)


# --- Schemas --------------------------------------------------------------------------------


# As API.md spells them (dunning.models.Stage and RiskClass hold the same values).
Stage = Literal["current", "reminder", "soft", "hard", "litigation", "agency", "written_off"]
RiskClass = Literal["uncollected", "in_collection", "quasi_bad", "bad", "dead"]


class FieldError(Schema):
    field: str
    message: str


class Errors(Schema):
    errors: list[FieldError]


class DealerIn(Schema):
    """A dealer as the ERP sends it. Optional fields left out keep their stored value."""

    name: Annotated[PlainText, Field(min_length=1, max_length=200)]
    country: Annotated[PlainText, Field(description="ISO 3166 alpha-2, e.g. DE")]
    currency: Annotated[PlainText, Field(description="ISO 4217, e.g. EUR")]
    address: Annotated[PlainText, Field(max_length=2000)] = ""
    language: Annotated[PlainText, Field(max_length=10)] = "en"
    phone: Annotated[PlainText, Field(max_length=40)] = ""
    region: Annotated[PlainText, Field(max_length=100)] = ""
    credit_limit: MoneyIn = Field(ZERO, description="0 means no limit")
    payment_terms_days: int = Field(30, ge=0, le=3650)
    collector: Username | None = Field(None, description="Username; null for none")


class DealerOut(Schema):
    code: str
    name: str
    country: str
    currency: str
    language: str
    address: str
    phone: str
    region: str
    payment_terms_days: int
    credit_limit: str
    collector: str | None
    balance: str = Field(description="Open amount of the dealer's orders today")
    overdue: str = Field(description="The part of the balance past its due date")
    oldest_due_on: dt.date | None = Field(description="Due date of the oldest overdue order")
    stage: Stage
    risk_class: RiskClass
    credit_hold: bool


class CreditStatusOut(Schema):
    credit_hold: bool
    reason: str
    cash_only: bool


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
        description="Only dealers billed in this currency (amounts of several "
        "currencies are otherwise added together)",
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
    buckets: list[AgingBucket]
    total: AgingTotal


class KpiQuery(Schema):
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")


class KpiOut(Schema):
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    sales: str
    opening: str
    closing: str
    closing_current: str
    dso: str | None
    cei: str | None
    average_days_late: str | None
    orders_paid: int = Field(description="Orders that became fully paid in the period")
    broken_promise_rate: str | None


# --- Helpers --------------------------------------------------------------------------------


def _require(request: HttpRequest, *perms: str) -> None:
    """The web UI's model permissions apply to the API too."""
    if not request.user.has_perms(perms):
        raise PermissionDenied("Your role does not allow this.")


def _reason(request: HttpRequest) -> str:
    return f"API {request.method} {request.path}"


def _get_dealer_for_user(request: HttpRequest, code: str, *, today: dt.date) -> Dealer:
    """The dealer `code` with its balance as of `today`, if this user may see it.

    A dealer the user may not see answers 404 like a missing one, so that a collector
    cannot probe another collector's portfolio.
    """
    _require(request, "receivables.view_dealer")
    dealer = (
        Dealer.objects.visible_to(request.user)
        .with_balance(today)
        .select_related("collector")
        .filter(code=code)
        .first()
    )
    if dealer is None:
        raise Http404(f"No dealer '{code}'.")
    return dealer


def _dealer_answer(dealer: Dealer, today: dt.date) -> dict[str, Any]:
    summary = collection_summary(dealer, today)
    return {
        "code": dealer.code,
        "name": dealer.name,
        "country": dealer.country,
        "currency": dealer.currency,
        "language": dealer.language,
        "address": dealer.address,
        "phone": dealer.phone,
        "region": dealer.region,
        "payment_terms_days": dealer.payment_terms_days,
        "credit_limit": money(dealer.credit_limit),
        "collector": dealer.collector.get_username() if dealer.collector else None,
        "balance": money(dealer.balance),  # type: ignore[attr-defined]
        "overdue": money(dealer.overdue),  # type: ignore[attr-defined]
        "oldest_due_on": dealer.oldest_due_on,  # type: ignore[attr-defined]
        "stage": summary.stage,
        "risk_class": summary.risk_class,
        "credit_hold": summary.credit.credit_hold,
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


@ledger_router.put("/dealers/{code}", response={200: DealerOut, codes_4xx: Errors})
def put_dealer(request: HttpRequest, code: DealerCode, payload: DealerIn) -> dict[str, Any]:
    """Create or update a dealer. Sending the same body twice changes nothing."""
    _require(request, "receivables.add_dealer", "receivables.change_dealer")
    upsert_dealer(
        code=code,
        user=request.user,
        reason=_reason(request),
        **payload.model_dump(exclude_unset=True),
    )
    today = business_today()
    return _dealer_answer(_get_dealer_for_user(request, code, today=today), today)


@ledger_router.get("/dealers/{code}", response={200: DealerOut, codes_4xx: Errors})
def get_dealer(request: HttpRequest, code: DealerCode) -> dict[str, Any]:
    today = business_today()
    return _dealer_answer(_get_dealer_for_user(request, code, today=today), today)


@ledger_router.get(
    "/dealers/{code}/credit-status", response={200: CreditStatusOut, codes_4xx: Errors}
)
def get_credit_status(request: HttpRequest, code: DealerCode) -> dict[str, Any]:
    """Whether the order desk may sell to this dealer on credit."""
    today = business_today()
    status = credit_status(_get_dealer_for_user(request, code, today=today), today)
    return {
        "credit_hold": status.credit_hold,
        "reason": status.reason,
        "cash_only": status.cash_only,
    }


@ledger_router.put("/orders/{number}", response={200: OrderOut, codes_4xx: Errors})
def put_order(request: HttpRequest, number: OrderNumber, payload: OrderIn) -> dict[str, Any]:
    """Create or update an order, then re-allocate the dealer's payments."""
    _require(request, "receivables.add_order", "receivables.change_order")
    values = payload.model_dump(exclude_unset=True)
    if "lines" in values:
        values["lines"] = [LineInput(**line) for line in values["lines"]]
    order = upsert_order(number=number, user=request.user, reason=_reason(request), **values)
    return _order_answer(order.pk)


@ledger_router.put("/payments/{reference}", response={200: PaymentOut, codes_4xx: Errors})
def put_payment(
    request: HttpRequest, reference: PaymentReference, payload: PaymentIn
) -> dict[str, Any]:
    """Create or update a payment, then re-allocate: the named order first, then the
    oldest due orders; what is left stays as dealer credit."""
    _require(request, "receivables.add_payment", "receivables.change_payment")
    values = payload.model_dump(exclude_unset=True)
    if "method" in values:
        values["method"] = str(values["method"])
    payment = upsert_payment(
        reference=reference, user=request.user, reason=_reason(request), **values
    )
    return _payment_answer(payment.pk)


# --- Reports --------------------------------------------------------------------------------


@reports_router.get("/aging", response={200: AgingOut, codes_4xx: Errors})
def aging_report(request: HttpRequest, query: Query[AgingQuery]) -> dict[str, Any]:
    """Open orders by age on `as_of`, over the dealers this user may see. A `dealer` or
    `collector` that matches none of them gives an empty report."""
    _require(request, "receivables.view_order")
    dealers = Dealer.objects.visible_to(request.user)
    if query.dealer is not None:
        dealers = dealers.filter(code=query.dealer)
    if query.collector is not None:
        dealers = dealers.filter(collector__username=query.collector)
    if query.currency is not None:
        dealers = dealers.filter(currency=query.currency)
    report = Order.objects.filter(dealer__in=dealers).aging(query.as_of or business_today())
    return {
        "as_of": report["as_of"],
        "buckets": [
            {"key": bucket["key"], "count": bucket["count"], "amount": money(bucket["amount"])}
            for bucket in report["buckets"]
        ],
        "total": {
            "count": report["total"]["count"],
            "amount": money(report["total"]["amount"]),
        },
    }


@reports_router.get("/kpis", response={200: KpiOut, codes_4xx: Errors}, by_alias=True)
def kpis(request: HttpRequest, query: Query[KpiQuery]) -> dict[str, Any]:
    """The collection KPIs of API.md over [from, to], both days included, over the
    dealers this user may see. Ratios are null when there is nothing to divide by."""
    _require(request, "receivables.view_order")
    if query.end < query.start:
        raise ValidationError({"to": ["The period ends before it starts."]})
    figures = kpi_report(
        start=query.start, end=query.end, dealers=Dealer.objects.visible_to(request.user)
    )
    answer: dict[str, Any] = {
        key: money_or_none(figures.get(key))
        for key in (
            "sales",
            "opening",
            "closing",
            "closing_current",
            "dso",
            "cei",
            "average_days_late",
            "broken_promise_rate",
        )
    }
    answer["orders_paid"] = int(figures.get("orders_paid") or 0)
    answer["from"], answer["to"] = query.start, query.end
    return answer


__all__ = ["ledger_router", "reports_router"]

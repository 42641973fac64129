"""How payments are spread over orders ("After the money arrives", docs/PRACTICE.md §18).

The rule, replayed from a dealer's whole history so that the result never depends on the
order in which the ERP happened to send things:

1. A payment that names an order pays that order first.
2. Then, in date order (orders of a day before payments of that day), each payment pays
   the dealer's open orders, oldest due date first, among orders that exist on the day
   it is received.
3. Money left over stays as dealer credit and goes, oldest payment first, to the next
   orders that arrive.

An allocation is applied on the later of the payment's receipt and the order's date.
Neither a payment nor an order is ever allocated beyond its amount.

`plan_allocations` is pure (easy to test with hypothesis); `reallocate_dealers` writes the
difference between the plan and the database, so replaying an unchanged ledger writes
nothing. It also keeps each order's open interval (`Order.paid_from`, `Order.settled_on`,
`open_intervals`) in line with the allocations: this module is their only writer.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.db import models, transaction
from django.db.models import Case, Max, Min, OuterRef, Subquery, Sum, Value, When
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from receivables.balances import refresh as refresh_balances
from receivables.models import HALF_CENT, ZERO, Allocation, Order, Payment


@dataclass(frozen=True)
class OrderFact:
    id: int
    ordered_on: dt.date
    due_on: dt.date
    amount: Decimal
    number: str = ""


@dataclass(frozen=True)
class PaymentFact:
    id: int
    received_on: dt.date
    amount: Decimal
    order_id: int | None = None
    reference: str = ""


# Orders per UPDATE of their open interval: well under SQLite's limit of query parameters.
SETTLED_CHUNK = 900

# (payment id, order id) -> (amount, applied_on)
Plan = dict[tuple[int, int], tuple[Decimal, dt.date]]


def _due_order(order: OrderFact) -> tuple:
    return (order.due_on, order.ordered_on, order.number, order.id)


def plan_allocations(orders: Iterable[OrderFact], payments: Iterable[PaymentFact]) -> Plan:
    orders = sorted(orders, key=lambda o: (o.ordered_on, o.due_on, o.number, o.id))
    payments = sorted(payments, key=lambda p: (p.received_on, p.reference, p.id))
    by_id = {o.id: o for o in orders}
    order_left = {o.id: o.amount for o in orders}
    pay_left = {p.id: p.amount for p in payments}
    plan: Plan = {}

    def allocate(payment: PaymentFact, order: OrderFact) -> None:
        amount = min(pay_left[payment.id], order_left[order.id])
        if amount <= 0:
            return
        pay_left[payment.id] -= amount
        order_left[order.id] -= amount
        key = (payment.id, order.id)
        previous, _ = plan.get(key, (ZERO, order.ordered_on))
        plan[key] = (previous + amount, max(payment.received_on, order.ordered_on))

    # 1. Named orders first.
    for payment in payments:
        if payment.order_id is not None and payment.order_id in by_id:
            allocate(payment, by_id[payment.order_id])

    # 2 and 3. Replay the days: orders of a day arrive before that day's payments.
    events: list[tuple[dt.date, int, int]] = [(o.ordered_on, 0, i) for i, o in enumerate(orders)]
    events += [(p.received_on, 1, i) for i, p in enumerate(payments)]
    events.sort()
    arrived: list[OrderFact] = []  # kept sorted by due date, then number
    waiting_credit: list[PaymentFact] = []  # payments with money left, oldest first
    for _day, kind, index in events:
        if kind == 0:
            order = orders[index]
            bisect.insort(arrived, order, key=_due_order)
            for payment in waiting_credit:
                if order_left[order.id] <= 0:
                    break
                allocate(payment, order)
            waiting_credit = [p for p in waiting_credit if pay_left[p.id] > 0]
        else:
            payment = payments[index]
            scanned = 0
            for order in arrived:
                if pay_left[payment.id] <= 0:
                    break
                allocate(payment, order)
                scanned += 1
            arrived[:scanned] = [o for o in arrived[:scanned] if order_left[o.id] > 0]
            if pay_left[payment.id] > 0:
                waiting_credit.append(payment)
    return plan


def reallocate_dealers(dealer_ids: Iterable[int], *, batch_size: int = 500) -> int:
    """Bring the allocations of these dealers in line with the rule. Returns the number of
    allocations written (created, changed or deleted)."""
    dealer_ids = sorted(set(dealer_ids))
    written = 0
    for start in range(0, len(dealer_ids), batch_size):
        written += _reallocate_batch(dealer_ids[start : start + batch_size])
    return written


@transaction.atomic
def _reallocate_batch(dealer_ids: list[int]) -> int:
    orders: dict[int, list[OrderFact]] = {d: [] for d in dealer_ids}
    stored_intervals: dict[int, OpenInterval] = {}
    for (
        o_id,
        o_dealer,
        ordered_on,
        due_on,
        o_amount,
        number,
        paid_from,
        settled_on,
    ) in Order.objects.filter(dealer_id__in=dealer_ids).values_list(
        "id", "dealer_id", "ordered_on", "due_on", "amount", "number", "paid_from", "settled_on"
    ):
        orders[o_dealer].append(OrderFact(o_id, ordered_on, due_on, o_amount, number))
        stored_intervals[o_id] = OpenInterval(paid_from, settled_on)
    payments: dict[int, list[PaymentFact]] = {d: [] for d in dealer_ids}
    for p_id, p_dealer, received_on, p_amount, order_id, reference in Payment.objects.filter(
        dealer_id__in=dealer_ids
    ).values_list("id", "dealer_id", "received_on", "amount", "order_id", "reference"):
        payments[p_dealer].append(PaymentFact(p_id, received_on, p_amount, order_id, reference))
    existing = {
        (a.payment_id, a.order_id): a
        for a in Allocation.objects.filter(payment__dealer_id__in=dealer_ids)
    }

    wanted: Plan = {}
    for dealer_id in dealer_ids:
        wanted.update(plan_allocations(orders[dealer_id], payments[dealer_id]))

    to_create = [
        Allocation(payment_id=p, order_id=o, amount=amount, applied_on=applied_on)
        for (p, o), (amount, applied_on) in wanted.items()
        if (p, o) not in existing
    ]
    to_update = []
    for key, allocation in existing.items():
        if key in wanted:
            amount, applied_on = wanted[key]
            if allocation.amount != amount or allocation.applied_on != applied_on:
                allocation.amount, allocation.applied_on = amount, applied_on
                to_update.append(allocation)
    to_delete = [a.pk for key, a in existing.items() if key not in wanted]

    if to_delete:
        # Deleting row by row keeps a history record of each removed allocation.
        for allocation in Allocation.objects.filter(pk__in=to_delete):
            allocation._change_reason = "reallocated"  # type: ignore[attr-defined]
            allocation.delete()
    if to_update:
        bulk_update_with_history(
            to_update,
            Allocation,
            ["amount", "applied_on"],
            batch_size=1000,
            default_change_reason="reallocated",
        )
    if to_create:
        bulk_create_with_history(
            to_create, Allocation, batch_size=1000, default_change_reason="allocated"
        )
    _write_open_interval(orders, wanted, stored_intervals)
    # The dealers' kept figures follow, in the same transaction (receivables.balances).
    refresh_balances(dealer_ids)
    return len(to_create) + len(to_update) + len(to_delete)


class OpenInterval(NamedTuple):
    """What an order keeps of its allocations: the day of the first one (`paid_from`) and
    the day they reached its amount (`settled_on`), each None until then."""

    paid_from: dt.date | None
    settled_on: dt.date | None


def open_intervals(orders: Iterable[OrderFact], plan: Plan) -> dict[int, OpenInterval]:
    """For each order, its open interval as the allocations of `plan` make it."""
    paid: dict[int, Decimal] = {}
    first: dict[int, dt.date] = {}
    last: dict[int, dt.date] = {}
    for (_payment_id, order_id), (amount, applied_on) in plan.items():
        paid[order_id] = paid.get(order_id, ZERO) + amount
        first[order_id] = min(applied_on, first.get(order_id, applied_on))
        last[order_id] = max(applied_on, last.get(order_id, applied_on))
    return {
        o.id: OpenInterval(
            first.get(o.id), last[o.id] if paid.get(o.id, ZERO) >= o.amount else None
        )
        for o in orders
    }


def forget_open_interval(order: Order) -> list[str]:
    """Clear the kept interval of an order whose date is about to change, and return the
    fields to save with it.

    Its allocations apply on or after its date, so until `reallocate_dealers` moves them
    (in the same transaction) the old interval may start before the new date, which the
    order's CHECK (and PostgreSQL's range index) refuse. Cleared, the reallocation finds
    the interval changed and writes it again."""
    order.paid_from = None
    order.settled_on = None
    return ["paid_from", "settled_on"]


def _write_open_interval(
    orders: dict[int, list[OrderFact]], plan: Plan, stored: dict[int, OpenInterval]
) -> None:
    """Bring `paid_from` and `settled_on` in line with the allocations just written, for
    the orders whose interval changes. The values are computed by the database from the
    allocations themselves (the same rule as `open_intervals`), a few hundred orders per
    UPDATE.

    Both are derived from the allocations (whose history is kept) and are left out of the
    order's history, so a plain UPDATE is right here."""
    every_order = [order for dealer_orders in orders.values() for order in dealer_orders]
    changed = [
        order_id
        for order_id, interval in open_intervals(every_order, plan).items()
        if stored[order_id] != interval
    ]
    allocations = Allocation.objects.filter(order=OuterRef("pk")).values("order")
    paid = Subquery(allocations.annotate(total=Sum("amount")).values("total"))
    first = Subquery(allocations.annotate(first=Min("applied_on")).values("first"))
    last = Subquery(allocations.annotate(last=Max("applied_on")).values("last"))
    settled_on = Case(
        When(amount__lt=paid + Value(HALF_CENT), then=last),
        default=Value(None),
        output_field=models.DateField(),
    )
    for start in range(0, len(changed), SETTLED_CHUNK):
        Order.objects.filter(pk__in=changed[start : start + SETTLED_CHUNK]).update(
            paid_from=first, settled_on=settled_on
        )

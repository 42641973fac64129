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
nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models, transaction
from django.db.models import Case, Max, OuterRef, Subquery, Sum, Value, When
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


# Orders per UPDATE of `settled_on`: well under SQLite's limit of query parameters.
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
    stored_settled_on: dict[int, dt.date | None] = {}
    for o_id, o_dealer, ordered_on, due_on, o_amount, number, settled_on in Order.objects.filter(
        dealer_id__in=dealer_ids
    ).values_list("id", "dealer_id", "ordered_on", "due_on", "amount", "number", "settled_on"):
        orders[o_dealer].append(OrderFact(o_id, ordered_on, due_on, o_amount, number))
        stored_settled_on[o_id] = settled_on
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
    _write_settled_on(orders, wanted, stored_settled_on)
    # The dealers' kept figures follow, in the same transaction (receivables.balances).
    refresh_balances(dealer_ids)
    return len(to_create) + len(to_update) + len(to_delete)


def settled_dates(orders: Iterable[OrderFact], plan: Plan) -> dict[int, dt.date | None]:
    """For each order, the day its allocations reached its amount, or None if open."""
    paid: dict[int, Decimal] = {}
    last: dict[int, dt.date] = {}
    for (_payment_id, order_id), (amount, applied_on) in plan.items():
        paid[order_id] = paid.get(order_id, ZERO) + amount
        last[order_id] = max(applied_on, last.get(order_id, applied_on))
    return {o.id: last[o.id] if paid.get(o.id, ZERO) >= o.amount else None for o in orders}


def _write_settled_on(
    orders: dict[int, list[OrderFact]], plan: Plan, stored: dict[int, dt.date | None]
) -> None:
    """Bring `settled_on` in line with the allocations just written, for the orders whose
    date changes. The value is computed by the database from the allocations themselves
    (the same rule as `settled_dates`), a few hundred orders per UPDATE.

    `settled_on` is derived from the allocations (whose history is kept) and is left out
    of the order's history, so a plain UPDATE is right here."""
    every_order = [order for dealer_orders in orders.values() for order in dealer_orders]
    changed = [
        order_id
        for order_id, settled_on in settled_dates(every_order, plan).items()
        if stored[order_id] != settled_on
    ]
    allocations = Allocation.objects.filter(order=OuterRef("pk")).values("order")
    paid = Subquery(allocations.annotate(total=Sum("amount")).values("total"))
    last = Subquery(allocations.annotate(last=Max("applied_on")).values("last"))
    settled_on = Case(
        When(amount__lt=paid + Value(HALF_CENT), then=last),
        default=Value(None),
        output_field=models.DateField(),
    )
    for start in range(0, len(changed), SETTLED_CHUNK):
        Order.objects.filter(pk__in=changed[start : start + SETTLED_CHUNK]).update(
            settled_on=settled_on
        )

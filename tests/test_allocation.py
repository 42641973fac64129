"""Payments are allocated to the named order first, then oldest due first; what is left
stays as credit for the next order ("After the money arrives", docs/PRACTICE.md §18)."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.allocation import OrderFact, PaymentFact, plan_allocations, reallocate_dealers
from receivables.models import Allocation, Order
from tests.factories import DealerFactory, OrderFactory, PaymentFactory

D = dt.date


def test_payment_goes_to_oldest_due_order_first():
    orders = [
        OrderFact(1, D(2026, 1, 10), D(2026, 2, 10), Decimal("100.00"), "B"),
        OrderFact(2, D(2026, 1, 1), D(2026, 1, 31), Decimal("100.00"), "A"),
    ]
    plan = plan_allocations(orders, [PaymentFact(10, D(2026, 3, 1), Decimal("150.00"))])
    assert plan == {
        (10, 2): (Decimal("100.00"), D(2026, 3, 1)),
        (10, 1): (Decimal("50.00"), D(2026, 3, 1)),
    }


def test_named_order_is_paid_before_older_ones():
    orders = [
        OrderFact(1, D(2026, 1, 1), D(2026, 1, 31), Decimal("100.00"), "A"),
        OrderFact(2, D(2026, 1, 10), D(2026, 2, 10), Decimal("100.00"), "B"),
    ]
    plan = plan_allocations(orders, [PaymentFact(10, D(2026, 3, 1), Decimal("100.00"), 2)])
    assert plan == {(10, 2): (Decimal("100.00"), D(2026, 3, 1))}


def test_leftover_credit_goes_to_the_next_order_on_its_date():
    orders = [
        OrderFact(1, D(2026, 1, 1), D(2026, 1, 31), Decimal("100.00"), "A"),
        OrderFact(2, D(2026, 4, 1), D(2026, 5, 1), Decimal("80.00"), "B"),
    ]
    plan = plan_allocations(orders, [PaymentFact(10, D(2026, 2, 1), Decimal("150.00"))])
    assert plan == {
        (10, 1): (Decimal("100.00"), D(2026, 2, 1)),
        (10, 2): (Decimal("50.00"), D(2026, 4, 1)),
    }


def test_payment_does_not_pay_an_order_that_does_not_exist_yet_on_its_day():
    orders = [OrderFact(1, D(2026, 5, 1), D(2026, 6, 1), Decimal("100.00"), "A")]
    plan = plan_allocations(orders, [PaymentFact(10, D(2026, 2, 1), Decimal("30.00"))])
    assert plan == {(10, 1): (Decimal("30.00"), D(2026, 5, 1))}


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)
days = st.integers(min_value=0, max_value=400)


@st.composite
def ledgers(draw):
    start = D(2025, 1, 1)
    orders = []
    for i in range(draw(st.integers(0, 12))):
        ordered = start + dt.timedelta(days=draw(days))
        due = ordered + dt.timedelta(days=draw(st.integers(0, 90)))
        orders.append(OrderFact(i + 1, ordered, due, draw(amounts), f"{i + 1:04d}"))
    payments = []
    for j in range(draw(st.integers(0, 12))):
        named = draw(st.one_of(st.none(), st.integers(1, len(orders)))) if orders else None
        payments.append(
            PaymentFact(100 + j, start + dt.timedelta(days=draw(days)), draw(amounts), named)
        )
    return orders, payments


@given(ledgers())
@settings(max_examples=300, deadline=None)
def test_no_payment_or_order_is_ever_allocated_beyond_its_amount(ledger):
    orders, payments = ledger
    plan = plan_allocations(orders, payments)
    by_order: dict[int, Decimal] = {}
    by_payment: dict[int, Decimal] = {}
    order_dates = {o.id: o.ordered_on for o in orders}
    pay_dates = {p.id: p.received_on for p in payments}
    for (payment_id, order_id), (amount, applied_on) in plan.items():
        assert amount > 0
        assert applied_on == max(order_dates[order_id], pay_dates[payment_id])
        by_order[order_id] = by_order.get(order_id, Decimal("0")) + amount
        by_payment[payment_id] = by_payment.get(payment_id, Decimal("0")) + amount
    for order in orders:
        assert by_order.get(order.id, Decimal("0")) <= order.amount
    for payment in payments:
        assert by_payment.get(payment.id, Decimal("0")) <= payment.amount
    # Money is never left both unpaid and unused: credit waits for the next order.
    total_orders = sum((o.amount for o in orders), Decimal("0"))
    total_payments = sum((p.amount for p in payments), Decimal("0"))
    allocated = sum(by_order.values(), Decimal("0"))
    assert allocated == min(total_orders, total_payments)


@pytest.mark.django_db
@given(ledgers())
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_replaying_the_database_matches_the_plan_and_is_idempotent(ledger):
    orders, payments = ledger
    dealer = DealerFactory()
    db_orders = {
        o.id: OrderFactory(
            dealer=dealer,
            number=f"{dealer.code}-{o.number}",
            ordered_on=o.ordered_on,
            due_on=o.due_on,
            amount=o.amount,
        )
        for o in orders
    }
    for p in payments:
        PaymentFactory(
            dealer=dealer,
            received_on=p.received_on,
            amount=p.amount,
            order=db_orders[p.order_id] if p.order_id else None,
        )
    reallocate_dealers([dealer.pk])
    for order in orders:
        stored = Allocation.objects.filter(order=db_orders[order.id]).values_list(
            "amount", "applied_on"
        )
        paid = sum((amount for amount, _ in stored), Decimal("0"))
        assert paid <= order.amount
        # settled_on follows the allocations: the last one's day once they reach the amount
        expected = max(day for _, day in stored) if paid == order.amount else None
        assert Order.objects.get(pk=db_orders[order.id].pk).settled_on == expected
    assert reallocate_dealers([dealer.pk]) == 0


@pytest.mark.django_db
def test_changing_a_payment_amount_moves_allocations_with_history():
    dealer = DealerFactory()
    first = OrderFactory(dealer=dealer, ordered_on=D(2026, 1, 1), amount=Decimal("100.00"))
    second = OrderFactory(dealer=dealer, ordered_on=D(2026, 1, 2), amount=Decimal("100.00"))
    payment = PaymentFactory(dealer=dealer, received_on=D(2026, 2, 1), amount=Decimal("150.00"))
    reallocate_dealers([dealer.pk])
    assert Order.objects.filter(pk=second.pk).with_paid().get().paid == Decimal("50.00")
    assert Order.objects.get(pk=first.pk).settled_on == D(2026, 2, 1)

    payment.amount = Decimal("80.00")
    payment.save()
    assert reallocate_dealers([dealer.pk]) == 2  # one changed, one removed
    assert Order.objects.filter(pk=first.pk).with_paid().get().paid == Decimal("80.00")
    assert Order.objects.filter(pk=second.pk).with_paid().get().paid == Decimal("0.00")
    assert Allocation.history.filter(history_type="-").count() == 1
    assert Order.objects.get(pk=first.pk).settled_on is None


@pytest.mark.django_db
def test_an_order_paid_in_parts_that_float_arithmetic_cannot_add_is_settled_not_open():
    # SQLite adds 0.10 + 0.70 as 0.7999999999999999: that must not leave 1e-16 "open".
    dealer = DealerFactory()
    order = OrderFactory(dealer=dealer, ordered_on=D(2026, 1, 1), amount=Decimal("0.80"))
    PaymentFactory(dealer=dealer, received_on=D(2026, 2, 1), amount=Decimal("0.10"))
    PaymentFactory(dealer=dealer, received_on=D(2026, 2, 2), amount=Decimal("0.70"))

    reallocate_dealers([dealer.pk])

    assert Order.objects.get(pk=order.pk).settled_on == D(2026, 2, 2)
    assert not Order.objects.filter(pk=order.pk).open_at(D(2026, 3, 1)).exists()
    assert Order.objects.filter(pk=order.pk).open_at(D(2026, 2, 1)).get().open_amount == (
        Decimal("0.70")
    )

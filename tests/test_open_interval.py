"""Each order keeps its open interval (`paid_from`, `settled_on`) in line with its
allocations after every kind of ledger change, and `open_at(D)` answers what a naive
reading of the allocations answers, for any day D."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.models import HALF_CENT, ZERO, Allocation, Order
from receivables.services import upsert_order, upsert_payment
from tests.factories import DealerFactory

D = dt.date
START = D(2025, 1, 1)
CENT = Decimal("0.01")


def derived_intervals() -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """(paid_from, settled_on) of every order, read from its allocations."""
    allocations: dict[int, list[tuple[Decimal, dt.date]]] = {}
    for order_id, amount, applied_on in Allocation.objects.values_list(
        "order_id", "amount", "applied_on"
    ):
        allocations.setdefault(order_id, []).append((amount, applied_on))
    derived = {}
    for pk, amount in Order.objects.values_list("pk", "amount"):
        rows = allocations.get(pk, [])
        paid = sum((a for a, _ in rows), ZERO)
        first = min((day for _, day in rows), default=None)
        last = max((day for _, day in rows), default=None)
        derived[pk] = (first, last if rows and paid >= amount else None)
    return derived


def assert_kept_intervals_follow_the_allocations() -> None:
    stored = {pk: (p, s) for pk, p, s in Order.objects.values_list("pk", "paid_from", "settled_on")}
    assert stored == derived_intervals()


def naive_open(on: dt.date) -> dict[int, Decimal]:
    """The orders open at the end of `on` and their open amounts, from the allocations
    alone, without the kept columns."""
    paid: dict[int, Decimal] = {}
    for order_id, amount in Allocation.objects.filter(applied_on__lte=on).values_list(
        "order_id", "amount"
    ):
        paid[order_id] = paid.get(order_id, ZERO) + amount
    found = {}
    for pk, amount in Order.objects.filter(ordered_on__lte=on).values_list("pk", "amount"):
        left = amount - paid.get(pk, ZERO)
        if left >= HALF_CENT:
            found[pk] = left
    return found


def assert_open_at_is_naive(days: list[dt.date]) -> None:
    for on in days:
        answered = {
            pk: Decimal(amount).quantize(CENT)  # SQLite sums in floating point
            for pk, amount in Order.objects.open_at(on).values_list("pk", "open_amount")
        }
        assert answered == naive_open(on), on


def interesting_days() -> list[dt.date]:
    """Every day something happened, the days around it, and a few far off."""
    days = {START - dt.timedelta(days=1), D(2030, 1, 1)}
    for ordered_on in Order.objects.values_list("ordered_on", flat=True):
        days |= {ordered_on - dt.timedelta(days=1), ordered_on}
    for applied_on in Allocation.objects.values_list("applied_on", flat=True):
        days |= {applied_on - dt.timedelta(days=1), applied_on, applied_on + dt.timedelta(1)}
    return sorted(days)


# Round amounts often, so that payments settle orders exactly as often as they part-pay them.
amounts = st.one_of(
    st.sampled_from([Decimal("10.00"), Decimal("25.00"), Decimal("50.00"), Decimal("100.00")]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2),
)
offsets = st.integers(min_value=0, max_value=120)

new_order = st.tuples(st.just("order"), st.integers(0, 1), offsets, offsets, amounts)
new_payment = st.tuples(st.just("payment"), st.integers(0, 1), offsets, amounts, st.booleans())
change_order = st.tuples(st.just("change order"), st.integers(0, 20), offsets, amounts)
change_payment = st.tuples(
    st.just("change payment"), st.integers(0, 20), offsets, amounts, st.integers(0, 1)
)
steps = st.lists(
    st.one_of(new_order, new_payment, change_order, change_payment), min_size=1, max_size=14
)


@pytest.mark.django_db
@given(steps)
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_ledger_change_keeps_the_open_interval_and_open_at_right(changes):
    dealers = [DealerFactory().code, DealerFactory().code]
    orders: list[tuple[str, str]] = []  # (number, dealer code)
    payments: list[tuple[str, str]] = []
    for change in changes:
        kind = change[0]
        if kind == "order":
            _, who, ordered, terms, amount = change
            number = f"{dealers[who]}-O{len(orders)}"
            ordered_on = START + dt.timedelta(days=ordered)
            upsert_order(
                number=number,
                dealer=dealers[who],
                ordered_on=ordered_on,
                due_on=ordered_on + dt.timedelta(days=terms),
                amount=amount,
            )
            orders.append((number, dealers[who]))
        elif kind == "payment":
            _, who, received, amount, names_an_order = change
            own = [number for number, dealer in orders if dealer == dealers[who]]
            reference = f"{dealers[who]}-P{len(payments)}"
            upsert_payment(
                reference=reference,
                dealer=dealers[who],
                received_on=START + dt.timedelta(days=received),
                amount=amount,
                order=own[-1] if names_an_order and own else None,
            )
            payments.append((reference, dealers[who]))
        elif kind == "change order" and orders:
            # A new date may fall after the day the order was settled or first paid.
            _, index, ordered, amount = change
            number, dealer = orders[index % len(orders)]
            ordered_on = START + dt.timedelta(days=ordered)
            upsert_order(
                number=number,
                dealer=dealer,
                ordered_on=ordered_on,
                due_on=ordered_on + dt.timedelta(days=30),
                amount=amount,
            )
        elif kind == "change payment" and payments:
            # Another day, another amount, and sometimes another dealer.
            _, index, received, amount, moves = change
            reference, dealer = payments[index % len(payments)]
            if moves:
                dealer = dealers[1 - dealers.index(dealer)]
                payments[index % len(payments)] = (reference, dealer)
            upsert_payment(
                reference=reference,
                dealer=dealer,
                received_on=START + dt.timedelta(days=received),
                amount=amount,
                order=None,
            )
        assert_kept_intervals_follow_the_allocations()
    assert_open_at_is_naive(interesting_days())


DEALERS = """\
code,name,country,currency
D1,Hof Meyer,DE,EUR
D2,Ferme Dupont,FR,EUR
"""

ORDERS = """\
number,dealer,ordered_on,due_on,amount
0001,D1,2026-01-05,2026-02-04,1000.00
0002,D1,2026-02-01,2026-03-03,500.00
0003,D2,2026-01-10,2026-02-09,250.50
"""

PAYMENTS = """\
reference,dealer,received_on,amount,order
P1,D1,2026-02-10,1200.00,0001
P2,D2,2026-02-15,250.50,
P3,D2,2026-03-01,40.00,
"""

# 0001 now ordered after it was paid, 0003 after its payment: both intervals must move.
ORDERS_MOVED = """\
number,dealer,ordered_on,due_on,amount
0001,D1,2026-03-05,2026-04-04,1000.00
0002,D1,2026-02-01,2026-03-03,600.00
0003,D2,2026-02-20,2026-03-20,250.50
0004,D2,2026-03-02,2026-04-01,100.00
"""

PAYMENTS_CHANGED = """\
reference,dealer,received_on,amount,order
P1,D1,2026-02-10,900.00,0001
P2,D2,2026-02-15,250.50,
P3,D2,2026-03-01,140.00,
"""


def import_files(tmp_path: Path, **texts: str) -> None:
    options = []
    for kind, text in texts.items():
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        options += [f"--{kind}", str(path)]
    call_command("import_ledger", *options, stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_imports_and_reimports_keep_the_open_interval_and_open_at_right(tmp_path):
    import_files(tmp_path, dealers=DEALERS, orders=ORDERS, payments=PAYMENTS)
    assert_kept_intervals_follow_the_allocations()
    first = Order.objects.get(number="0001")
    assert (first.paid_from, first.settled_on) == (D(2026, 2, 10), D(2026, 2, 10))
    assert_open_at_is_naive(interesting_days())

    import_files(tmp_path, orders=ORDERS_MOVED)
    assert_kept_intervals_follow_the_allocations()
    moved = Order.objects.get(number="0001")
    assert (moved.paid_from, moved.settled_on) == (D(2026, 3, 5), D(2026, 3, 5))
    assert_open_at_is_naive(interesting_days())

    import_files(tmp_path, payments=PAYMENTS_CHANGED)
    assert_kept_intervals_follow_the_allocations()
    assert_open_at_is_naive(interesting_days())

    import_files(tmp_path, dealers=DEALERS, orders=ORDERS_MOVED, payments=PAYMENTS_CHANGED)
    assert_kept_intervals_follow_the_allocations()


@pytest.mark.django_db
def test_an_order_dated_after_its_settlement_is_settled_again_from_its_new_date():
    dealer = DealerFactory()
    upsert_order(
        number="A",
        dealer=dealer.code,
        ordered_on=D(2026, 1, 1),
        due_on=D(2026, 1, 31),
        amount=Decimal("100.00"),
    )
    upsert_payment(
        reference="P1", dealer=dealer.code, received_on=D(2026, 2, 1), amount=Decimal("100.00")
    )
    upsert_order(
        number="A",
        dealer=dealer.code,
        ordered_on=D(2026, 3, 1),
        due_on=D(2026, 3, 31),
        amount=Decimal("100.00"),
    )
    order = Order.objects.get(number="A")
    # The payment waited as credit and was applied the day the order arrived.
    assert (order.paid_from, order.settled_on) == (D(2026, 3, 1), D(2026, 3, 1))
    assert_kept_intervals_follow_the_allocations()


@pytest.mark.django_db
def test_an_order_partly_paid_is_open_for_its_whole_amount_until_its_first_payment():
    dealer = DealerFactory()
    upsert_order(
        number="A",
        dealer=dealer.code,
        ordered_on=D(2026, 1, 1),
        due_on=D(2026, 1, 31),
        amount=Decimal("100.00"),
    )
    upsert_payment(
        reference="P1", dealer=dealer.code, received_on=D(2026, 2, 1), amount=Decimal("30.00")
    )
    upsert_payment(
        reference="P2", dealer=dealer.code, received_on=D(2026, 3, 1), amount=Decimal("70.00")
    )
    order = Order.objects.get(number="A")
    assert (order.paid_from, order.settled_on) == (D(2026, 2, 1), D(2026, 3, 1))

    def open_amount(on: dt.date) -> Decimal | None:
        found = Order.objects.open_at(on).values_list("open_amount", flat=True).first()
        return None if found is None else Decimal(found).quantize(CENT)

    assert open_amount(D(2025, 12, 31)) is None
    assert open_amount(D(2026, 1, 31)) == Decimal("100.00")
    assert open_amount(D(2026, 2, 1)) == Decimal("70.00")
    assert open_amount(D(2026, 2, 28)) == Decimal("70.00")
    assert open_amount(D(2026, 3, 1)) is None


@pytest.mark.django_db
def test_the_migration_fills_paid_from_from_the_allocations():
    dealer = DealerFactory()
    for number, day in (("A", D(2026, 1, 1)), ("B", D(2026, 2, 1)), ("C", D(2026, 6, 1))):
        upsert_order(
            number=number,
            dealer=dealer.code,
            ordered_on=day,
            due_on=day + dt.timedelta(days=30),
            amount=Decimal("100.00"),
        )
    upsert_payment(
        reference="P1", dealer=dealer.code, received_on=D(2026, 3, 1), amount=Decimal("260.00")
    )
    kept = dict(Order.objects.values_list("number", "paid_from"))
    Order.objects.update(paid_from=None)

    migration = importlib.import_module("receivables.migrations.0006_order_paid_from")
    migration.backfill_paid_from(apps, connection.schema_editor())

    assert dict(Order.objects.values_list("number", "paid_from")) == kept
    # C was paid from the credit left over, on the day it was ordered.
    assert kept == {"A": D(2026, 3, 1), "B": D(2026, 3, 1), "C": D(2026, 6, 1)}

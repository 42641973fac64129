"""The kept per-dealer figures (`DealerBalance`) always equal the figures derived from the
open orders, after every kind of change to the ledger: orders and payments through the
services (and so the API), the allocation rule, a payment corrected in the admin, an
import and a re-import, the daily sweep, and days passing with no write at all.

Runs on SQLite and, in CI, on PostgreSQL: the kept row is only ever a faster way to the
same answer (`DealerQuerySet.with_balance` derives whenever a row does not hold).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from dunning.sweep.runner import run_sweep
from receivables.balances import refresh, refresh_stale
from receivables.models import Dealer, DealerBalance, Payment
from receivables.services import upsert_order, upsert_payment
from tests.factories import DealerFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 3, 16)


def at_noon(day: dt.date) -> time_machine.travel:
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC))


def derived(on: dt.date) -> dict[str, tuple]:
    return {
        d.code: (d.balance, d.overdue, d.oldest_due_on)
        for d in Dealer.objects.with_derived_balance(on)
    }


def served(on: dt.date) -> dict[str, tuple]:
    """The figures pages read on `on` as business today: kept rows, refreshed where they
    no longer hold."""
    with at_noon(on):
        dealers = Dealer.objects.with_balance(on)
        return {d.code: (d.balance, d.overdue, d.oldest_due_on) for d in dealers}


def kept_holding(on: dt.date) -> dict[str, tuple]:
    rows = DealerBalance.objects.filter(DealerBalance.holds_on(on, prefix="")).select_related(
        "dealer"
    )
    return {row.dealer.code: (row.balance, row.overdue, row.oldest_due_on) for row in rows}


def assert_kept_equals_derived(on: dt.date, *, every_dealer_kept: bool = True) -> None:
    """Every kept row that holds on `on` has the derived figures, and the figures served
    to pages equal the derived ones (after which every row holds)."""
    expected = derived(on)
    kept = kept_holding(on)
    if every_dealer_kept:
        assert set(kept) == set(expected), "a dealer has no kept row that holds"
    for code, figures in kept.items():
        assert figures == expected[code], code
    assert served(on) == expected
    assert kept_holding(on) == expected


@pytest.fixture
def ledger(collector) -> list[Dealer]:
    """Two dealers with orders falling due on different days, one partly paid."""
    with at_noon(TODAY):
        dealers = [DealerFactory(code="K1"), DealerFactory(code="K2", currency="PLN")]
        for number, code, ordered, due, amount in [
            ("A1", "K1", D(2026, 1, 2), D(2026, 2, 1), "400.00"),
            ("A2", "K1", D(2026, 2, 20), D(2026, 3, 20), "250.00"),
            ("B1", "K2", D(2026, 2, 1), D(2026, 3, 3), "900.00"),
            ("B2", "K2", D(2026, 3, 10), D(2026, 4, 9), "120.50"),
        ]:
            upsert_order(
                number=number,
                dealer=code,
                ordered_on=ordered,
                due_on=due,
                amount=Decimal(amount),
            )
        upsert_payment(
            reference="PAY-1", dealer="K2", received_on=D(2026, 3, 5), amount=Decimal("300.00")
        )
    return dealers


def test_orders_and_payments_through_the_services_keep_the_figures(ledger) -> None:
    assert_kept_equals_derived(TODAY)
    assert kept_holding(TODAY)["K2"] == (Decimal("720.50"), Decimal("600.00"), D(2026, 3, 3))


def test_a_payment_that_settles_an_order_and_one_that_is_moved(ledger) -> None:
    with at_noon(TODAY):
        upsert_payment(
            reference="PAY-2", dealer="K1", received_on=D(2026, 3, 12), amount=Decimal("400.00")
        )
        assert_kept_equals_derived(TODAY)
        # The same payment moved to the other dealer: both dealers' rows follow.
        upsert_payment(
            reference="PAY-2", dealer="K2", received_on=D(2026, 3, 12), amount=Decimal("400.00")
        )
        assert_kept_equals_derived(TODAY)
    assert kept_holding(TODAY)["K1"][1] == Decimal("400.00")


def test_an_order_changed_and_one_dated_later(ledger) -> None:
    with at_noon(TODAY):
        upsert_order(
            number="A1",
            dealer="K1",
            ordered_on=D(2026, 1, 2),
            due_on=D(2026, 3, 30),
            amount=Decimal("410.00"),
        )
        # An order dated after today counts only from its date: the row says when it changes.
        upsert_order(
            number="A3",
            dealer="K1",
            ordered_on=D(2026, 3, 18),
            due_on=D(2026, 4, 17),
            amount=Decimal("99.99"),
        )
    assert_kept_equals_derived(TODAY)
    assert DealerBalance.objects.get(dealer__code="K1").changes_on == D(2026, 3, 18)


def test_days_passing_without_a_write_never_serve_a_stale_figure(ledger) -> None:
    # B2 falls past due on 10 April: K2's row stops holding that day, not before.
    assert "K2" in kept_holding(D(2026, 4, 9))
    assert "K2" not in kept_holding(D(2026, 4, 10))
    for days in range(0, 60, 3):
        # Rows hold until an order falls past due; the first read after refreshes them.
        assert_kept_equals_derived(TODAY + dt.timedelta(days=days), every_dealer_kept=False)


def test_a_day_other_than_today_is_derived_and_leaves_the_rows_alone(ledger) -> None:
    before = list(DealerBalance.objects.values_list("dealer_id", "as_of", "balance", "overdue"))
    earlier = TODAY - dt.timedelta(days=10)

    with at_noon(TODAY):
        figures = {
            d.code: (d.balance, d.overdue, d.oldest_due_on)
            for d in Dealer.objects.with_balance(earlier)
        }

    assert figures == derived(earlier)
    assert figures != derived(TODAY)
    assert list(DealerBalance.objects.values_list("dealer_id", "as_of", "balance", "overdue")) == (
        before
    )


def test_refresh_stale_brings_the_rows_to_a_later_day(ledger) -> None:
    later = D(2026, 4, 20)
    assert set(kept_holding(later)) != {"K1", "K2"}

    with at_noon(later):
        refreshed = refresh_stale()
        assert refresh_stale() == 0

    assert refreshed == 2
    assert_kept_equals_derived(later)


def test_a_dealer_without_a_row_gets_one_when_read(ledger) -> None:
    DealerBalance.objects.filter(dealer__code="K1").delete()
    assert_kept_equals_derived(TODAY, every_dealer_kept=False)

    DealerBalance.objects.filter(dealer__code="K1").delete()
    with at_noon(TODAY):
        refresh(Dealer.objects.filter(code="K1").values_list("pk", flat=True))

    assert_kept_equals_derived(TODAY)


def test_a_payment_corrected_in_the_admin(ledger) -> None:
    client = Client()
    client.force_login(UserFactory(username="fin", role="finance", is_staff=True))
    payment = Payment.objects.get(reference="PAY-1")
    with at_noon(TODAY):
        response = client.post(
            reverse("admin:receivables_payment_change", args=[payment.pk]),
            {"received_on": "2026-03-06", "amount": "950.00", "method": "transfer"},
        )
    assert response.status_code == 302
    assert_kept_equals_derived(TODAY)
    assert kept_holding(TODAY)["K2"] == (Decimal("70.50"), Decimal("0.00"), None)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_an_import_and_a_re_import(tmp_path: Path, collector) -> None:
    dealers = _write(
        tmp_path / "dealers.csv",
        "code,name,country,currency,credit_limit\n"
        "I1,Hof Ilse,DE,EUR,1000.00\nI2,Farma Iga,PL,PLN,5000.00\n",
    )
    orders = _write(
        tmp_path / "orders.csv",
        "number,dealer,ordered_on,due_on,amount\n"
        "I-1,I1,2026-01-05,2026-02-04,500.00\n"
        "I-2,I1,2026-02-05,2026-03-07,300.00\n"
        "I-3,I2,2026-02-10,2026-03-12,2500.00\n",
    )
    payments = _write(
        tmp_path / "payments.csv",
        "reference,dealer,received_on,amount\nIP-1,I1,2026-02-20,650.00\n",
    )
    options = ["--dealers", str(dealers), "--orders", str(orders), "--payments", str(payments)]
    with at_noon(TODAY):
        call_command("import_ledger", *options, stdout=StringIO(), stderr=StringIO())
    assert_kept_equals_derived(TODAY)
    assert kept_holding(TODAY)["I1"] == (Decimal("150.00"), Decimal("150.00"), D(2026, 3, 7))

    # The ERP sends the book again with a payment corrected and one more received.
    _write(
        tmp_path / "payments.csv",
        "reference,dealer,received_on,amount\n"
        "IP-1,I1,2026-02-20,800.00\nIP-2,I2,2026-03-14,1000.00\n",
    )
    with at_noon(TODAY):
        call_command("import_ledger", *options, stdout=StringIO(), stderr=StringIO())
    assert_kept_equals_derived(TODAY)
    assert kept_holding(TODAY)["I1"] == (Decimal("0.00"), Decimal("0.00"), None)
    assert kept_holding(TODAY)["I2"][0] == Decimal("1500.00")


def test_the_sweep_refreshes_the_rows_of_its_day(ledger) -> None:
    sweep_day = D(2026, 5, 4)
    assert set(kept_holding(sweep_day)) != {"K1", "K2"}

    with at_noon(sweep_day):
        run_sweep(today=sweep_day)

    # Every row holds after the sweep, before any page reads it; the sweep may have
    # posted interest (through the allocation rule).
    assert set(kept_holding(sweep_day)) == {"K1", "K2"}
    assert_kept_equals_derived(sweep_day)

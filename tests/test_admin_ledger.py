"""One way to write the ledger: every write replays the allocation rule. Orders and their
lines are read-only in the Django admin; a payment can be corrected there (date, amount,
method), and the correction goes through the same service as the API, so allocations,
settled_on, balances and aging follow. Dealers stay editable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from receivables.allocation import reallocate_dealers
from receivables.models import Allocation, Dealer, Order, OrderLine, Payment
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date
DAY = D(2026, 3, 15)
SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


@pytest.fixture(params=["staff manager", "superuser"])
def admin_client(request: pytest.FixtureRequest) -> Client:
    if request.param == "superuser":
        user = UserFactory(username="root", is_staff=True, is_superuser=True)
    else:
        user = UserFactory(username="mona", role="manager", is_staff=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dealer() -> Dealer:
    """A dealer whose payment settled one order and part of another."""
    dealer = DealerFactory(code="D1", name="Hof Meyer")
    first = OrderFactory(
        number="0001", dealer=dealer, ordered_on=D(2026, 1, 5), amount=Decimal("1000.00")
    )
    OrderFactory(number="0002", dealer=dealer, ordered_on=D(2026, 2, 1), amount=Decimal("500.00"))
    OrderLine.objects.create(
        order=first, product="Layer mash", quantity=Decimal("10"), unit_price=Decimal("100.00")
    )
    PaymentFactory(
        reference="P1", dealer=dealer, received_on=D(2026, 2, 10), amount=Decimal("1200.00")
    )
    reallocate_dealers([dealer.pk])
    return dealer


def ledger_state() -> dict[str, Any]:
    """Everything a write that skipped the allocation rule would leave stale."""
    return {
        "payments": list(Payment.objects.values_list("reference", "amount", "received_on")),
        "orders": list(
            Order.objects.values_list("number", "amount", "due_on", "settled_on").order_by("pk")
        ),
        "lines": list(OrderLine.objects.values_list("product", "quantity", "unit_price")),
        "allocations": list(
            Allocation.objects.values_list(
                "payment__reference", "order__number", "amount", "applied_on"
            ).order_by("pk")
        ),
        "balances": list(
            Dealer.objects.with_balance(DAY).values_list("code", "balance", "overdue")
        ),
        "aging": Order.objects.aging(DAY),
        "history": (Payment.history.count(), Order.history.count(), OrderLine.history.count()),
    }


def test_the_fixture_ledger_is_allocated(dealer: Dealer) -> None:
    state = ledger_state()

    assert state["balances"] == [("D1", Decimal("300.00"), Decimal("300.00"))]
    assert state["aging"]["total"]["amount"] == Decimal("300.00")
    assert Order.objects.get(number="0001").settled_on == D(2026, 2, 10)


# --- Payments -------------------------------------------------------------------------------


def test_a_payments_page_offers_its_date_amount_and_method_for_correction(
    admin_client: Client, dealer: Dealer
) -> None:
    payment = Payment.objects.get(reference="P1")

    response = admin_client.get(reverse("admin:receivables_payment_change", args=[payment.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="_save"' in page
    assert 'name="amount"' in page and 'name="received_on"' in page
    # The reference, the dealer and the named order are shown, not offered.
    assert 'name="reference"' not in page and 'name="dealer"' not in page


def test_correcting_a_payments_amount_in_the_admin_replays_the_allocation_rule(
    admin_client: Client, dealer: Dealer
) -> None:
    payment = Payment.objects.get(reference="P1")

    response = admin_client.post(
        reverse("admin:receivables_payment_change", args=[payment.pk]),
        {"received_on": "2026-02-10", "amount": "100.00", "method": "cash", "_save": "Save"},
    )

    assert response.status_code == 302
    state = ledger_state()
    assert state["payments"] == [("P1", Decimal("100.00"), D(2026, 2, 10))]
    assert state["allocations"] == [("P1", "0001", Decimal("100.00"), D(2026, 2, 10))]
    assert Order.objects.get(number="0001").settled_on is None
    assert state["balances"] == [("D1", Decimal("1400.00"), Decimal("1400.00"))]
    changed = Payment.objects.get(reference="P1")
    assert changed.method == "cash"
    assert changed.history.first().history_change_reason == "corrected in the admin"


def test_a_bad_amount_in_the_admin_is_explained_and_changes_nothing(
    admin_client: Client, dealer: Dealer
) -> None:
    payment = Payment.objects.get(reference="P1")
    before = ledger_state()

    response = admin_client.post(
        reverse("admin:receivables_payment_change", args=[payment.pk]),
        {"received_on": "2026-02-10", "amount": "-5.00", "method": "transfer", "_save": "Save"},
    )

    assert response.status_code == 200
    assert "The amount must be more than 0." in response.content.decode()
    assert ledger_state() == before


def test_a_payment_cannot_be_added_or_deleted_in_the_admin(
    admin_client: Client, dealer: Dealer
) -> None:
    payment = Payment.objects.get(reference="P1")
    before = ledger_state()

    added = admin_client.post(
        reverse("admin:receivables_payment_add"),
        {"reference": "P2", "dealer": dealer.pk, "received_on": "2026-03-01", "amount": "5.00"},
    )
    deleted = admin_client.post(
        reverse("admin:receivables_payment_delete", args=[payment.pk]), {"post": "yes"}
    )

    assert admin_client.get(reverse("admin:receivables_payment_add")).status_code == 403
    assert (added.status_code, deleted.status_code) == (403, 403)
    assert ledger_state() == before


# --- Orders ---------------------------------------------------------------------------------


def test_an_order_can_be_viewed_with_its_lines_but_has_no_save_button(
    admin_client: Client, dealer: Dealer
) -> None:
    order = Order.objects.get(number="0001")

    response = admin_client.get(reverse("admin:receivables_order_change", args=[order.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Layer mash" in page
    assert not any(button in page for button in SAVE_BUTTONS)
    # The lines are shown as text, not as inputs, and none can be added.
    assert 'name="lines-0-product"' not in page
    assert 'name="lines-MAX_NUM_FORMS" value="0"' in page


def test_changing_an_orders_amount_in_the_admin_is_refused_and_changes_nothing(
    admin_client: Client, dealer: Dealer
) -> None:
    order = Order.objects.get(number="0002")
    before = ledger_state()

    response = admin_client.post(
        reverse("admin:receivables_order_change", args=[order.pk]),
        {
            "number": "0002",
            "dealer": dealer.pk,
            "kind": "sale",
            "ordered_on": "2026-02-01",
            "due_on": "2026-03-03",
            "amount": "200.00",
            "lines-TOTAL_FORMS": "0",
            "lines-INITIAL_FORMS": "0",
            "_save": "Save",
        },
    )

    assert response.status_code == 403
    assert ledger_state() == before


def test_an_order_cannot_be_added_or_deleted_in_the_admin(
    admin_client: Client, dealer: Dealer
) -> None:
    order = Order.objects.get(number="0002")
    before = ledger_state()

    added = admin_client.post(
        reverse("admin:receivables_order_add"),
        {
            "number": "0003",
            "dealer": dealer.pk,
            "ordered_on": "2026-03-01",
            "due_on": "2026-03-31",
            "amount": "50.00",
        },
    )
    deleted = admin_client.post(
        reverse("admin:receivables_order_delete", args=[order.pk]), {"post": "yes"}
    )

    assert admin_client.get(reverse("admin:receivables_order_add")).status_code == 403
    assert (added.status_code, deleted.status_code) == (403, 403)
    assert ledger_state() == before


def test_order_lines_cannot_be_added_changed_or_deleted_in_the_admin(
    admin_client: Client, dealer: Dealer
) -> None:
    line = OrderLine.objects.get()
    before = ledger_state()

    changed = admin_client.post(
        reverse("admin:receivables_orderline_change", args=[line.pk]),
        {"order": line.order_id, "product": "Gold", "quantity": "1", "unit_price": "1.00"},
    )
    added = admin_client.get(reverse("admin:receivables_orderline_add"))
    deleted = admin_client.post(
        reverse("admin:receivables_orderline_delete", args=[line.pk]), {"post": "yes"}
    )

    assert (changed.status_code, added.status_code, deleted.status_code) == (403, 403, 403)
    assert ledger_state() == before


def test_allocations_stay_read_only(admin_client: Client, dealer: Dealer) -> None:
    assert admin_client.get(reverse("admin:receivables_allocation_add")).status_code == 403


# --- Dealers stay editable ------------------------------------------------------------------


def test_a_dealers_name_can_still_be_changed_in_the_admin(
    admin_client: Client, dealer: Dealer
) -> None:
    before = ledger_state()

    response = admin_client.post(
        reverse("admin:receivables_dealer_change", args=[dealer.pk]),
        {
            "code": "D1",
            "name": "Hof Meyer & Sohn",
            "country": "DE",
            "currency": "EUR",
            "language": "de",
            "time_zone": "",
            "address": dealer.address,
            "phone": "",
            "payment_terms_days": "30",
            "credit_limit": "50000.00",
            "region": "North",
            "collector": "",
            "agency": "",
            "contacts-TOTAL_FORMS": "0",
            "contacts-INITIAL_FORMS": "0",
            "contacts-MIN_NUM_FORMS": "0",
            "contacts-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    dealer.refresh_from_db()
    assert dealer.name == "Hof Meyer & Sohn"
    assert dealer.history.latest().history_type == "~"
    after = ledger_state()
    assert after == before

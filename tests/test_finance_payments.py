"""Payments entered by hand on the finance desk: the preview computed by the allocation rule
itself and rolled back, saving (a new reference only, never dated after today), the list
of payments with its filters, and who may do it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from receivables.allocation import reallocate_dealers
from receivables.models import Allocation, Dealer, DealerBalance, Order, Payment
from receivables.payment_preview import HAND_ENTRY_REASON, PaymentEntry, record_payment
from receivables.validation import received_on_problem
from tests.collection_helpers import NOW, TODAY
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory
from tests.test_page_query_counts import grow_book

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture(autouse=True)
def _frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def hof(db: Any) -> Dealer:
    """A dealer with two open orders, the older one due first, and one paid in full."""
    dealer = DealerFactory(code="HOF1", name="Hof Brandt", currency="EUR")
    OrderFactory(
        number="O-1", dealer=dealer, ordered_on=D(2026, 1, 5), due_on=D(2026, 2, 4),
        amount=Decimal("1000.00"),
    )  # fmt: skip
    OrderFactory(
        number="O-2", dealer=dealer, ordered_on=D(2026, 2, 1), due_on=D(2026, 3, 3),
        amount=Decimal("500.00"),
    )  # fmt: skip
    return dealer


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def payment_data(**overrides: str) -> dict[str, str]:
    return {
        "dealer": "HOF1",
        "reference": "CASH-7",
        "received_on": "2026-03-02",
        "amount": "1200.00",
        "method": "cash",
        "order": "",
        **overrides,
    }


def ledger_state() -> dict[str, Any]:
    return {
        "payments": list(Payment.objects.values_list("reference", "amount")),
        "allocations": list(
            Allocation.objects.order_by("pk").values_list("payment_id", "order_id", "amount")
        ),
        "payment history": Payment.history.count(),
        "allocation history": Allocation.history.count(),
        "orders": list(Order.objects.order_by("pk").values_list("paid_from", "settled_on")),
        "balances": list(DealerBalance.objects.values_list("dealer_id", "balance", "as_of")),
    }


# --- Preview --------------------------------------------------------------------------------


def test_the_preview_shows_the_orders_it_settles_and_keeps_nothing(
    finance: Any, hof: Dealer
) -> None:
    client = logged_in(finance)
    before = ledger_state()

    response = client.post("/finance/payments/new/", payment_data())

    assert response.status_code == 200
    preview = response.context["preview"]
    assert [
        (line.number, line.due_on, line.open_before, line.applied, line.open_after)
        for line in preview.orders
    ] == [
        ("O-1", D(2026, 2, 4), Decimal("1000.00"), Decimal("1000.00"), Decimal("0.00")),
        ("O-2", D(2026, 3, 3), Decimal("500.00"), Decimal("200.00"), Decimal("300.00")),
    ]
    assert preview.credit == Decimal("0.00")
    page = response.content.decode()
    assert page.count('data-testid="preview-order"') == 2
    assert "Settled" in page
    assert "Nothing stays as dealer credit." in page
    assert "Save payment" in page
    assert ledger_state() == before


def test_what_no_order_takes_shows_as_dealer_credit(finance: Any, hof: Dealer) -> None:
    response = logged_in(finance).post("/finance/payments/new/", payment_data(amount="1750.50"))

    assert response.context["preview"].credit == Decimal("250.50")
    assert "Stays as dealer credit for the next orders: 250.50 EUR." in response.content.decode()


def test_a_named_order_is_paid_first_in_the_preview(finance: Any, hof: Dealer) -> None:
    response = logged_in(finance).post(
        "/finance/payments/new/", payment_data(amount="600.00", order="O-2")
    )

    lines = response.context["preview"].orders
    # Listed as the rule takes them: the named order first, then the earliest due.
    assert [(line.number, line.applied) for line in lines] == [
        ("O-2", Decimal("500.00")),
        ("O-1", Decimal("100.00")),
    ]


def test_the_preview_counts_the_other_payments_a_backdated_one_moves(
    finance: Any, hof: Dealer
) -> None:
    PaymentFactory(
        reference="EARLIER", dealer=hof, received_on=D(2026, 2, 20), amount=Decimal("800.00")
    )
    reallocate_dealers([hof.pk])
    before = ledger_state()

    response = logged_in(finance).post(
        "/finance/payments/new/", payment_data(received_on="2026-02-10", amount="1000.00")
    )

    preview = response.context["preview"]
    assert [(line.number, line.open_before, line.applied, line.open_after) for line in preview.orders] == [  # noqa: E501
        ("O-1", Decimal("200.00"), Decimal("1000.00"), Decimal("0.00")),
    ]  # fmt: skip
    # EARLIER had paid 800 of O-1; now it pays 500 of O-2 and keeps 300 as credit.
    assert preview.others_moved == 2
    assert "2 allocations of this dealer's other payments move" in response.content.decode()
    assert ledger_state() == before


# --- Saving ---------------------------------------------------------------------------------


def test_saving_records_the_payment_as_previewed_and_shows_it(finance: Any, hof: Dealer) -> None:
    client = logged_in(finance)
    preview = client.post("/finance/payments/new/", payment_data()).context["preview"]

    response = client.post("/finance/payments/new/", {**payment_data(), "action": "save"})

    payment = Payment.objects.get(reference="CASH-7")
    assert response.status_code == 302
    assert response["Location"] == f"/finance/payments/{payment.pk}/"
    assert (payment.dealer, payment.received_on, payment.amount, payment.method) == (
        hof, TODAY, Decimal("1200.00"), "cash"
    )  # fmt: skip
    assert sorted(payment.allocations.values_list("order__number", "amount")) == [
        (line.number, line.applied) for line in preview.orders
    ]
    created = payment.history.get()
    assert (created.history_user, created.history_change_reason) == (finance, HAND_ENTRY_REASON)

    page = client.get(response["Location"]).content.decode()
    assert "Payment CASH-7 of HOF1 recorded." in page
    assert page.count('data-testid="allocation"') == 2
    assert "Entered by hand by fiona" in page


def test_save_recomputes_the_allocation_from_the_ledger_as_it_is_then(
    finance: Any, hof: Dealer
) -> None:
    client = logged_in(finance)
    client.post("/finance/payments/new/", payment_data(amount="500.00"))
    # Someone records an earlier payment between the preview and the save.
    PaymentFactory(
        reference="ERP-1", dealer=hof, received_on=D(2026, 2, 1), amount=Decimal("1000.00")
    )
    reallocate_dealers([hof.pk])

    client.post("/finance/payments/new/", {**payment_data(amount="500.00"), "action": "save"})

    payment = Payment.objects.get(reference="CASH-7")
    assert list(payment.allocations.values_list("order__number", "amount")) == [
        ("O-2", Decimal("500.00"))
    ]


def test_change_goes_back_to_the_form_with_the_values(finance: Any, hof: Dealer) -> None:
    response = logged_in(finance).post(
        "/finance/payments/new/", {**payment_data(amount="75.00"), "action": "edit"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="75.00"' in page
    assert 'value="CASH-7"' in page
    assert "Preview" in page
    assert not Payment.objects.exists()


def test_a_payment_dated_after_today_is_refused(finance: Any, hof: Dealer) -> None:
    response = logged_in(finance).post(
        "/finance/payments/new/", {**payment_data(received_on="2026-03-03"), "action": "save"}
    )

    assert response.status_code == 400
    assert "A payment cannot be dated after today (2026-03-02)" in response.content.decode()
    assert not Payment.objects.exists()


def test_received_on_problem_refuses_only_days_after_today() -> None:
    assert received_on_problem(TODAY, today=TODAY) == ""
    assert received_on_problem(TODAY - dt.timedelta(days=400), today=TODAY) == ""
    assert received_on_problem(TODAY + dt.timedelta(days=1), today=TODAY) == (
        "is after today (2026-03-02)"
    )


def test_an_existing_reference_is_refused_not_updated(finance: Any, hof: Dealer) -> None:
    erp = PaymentFactory(reference="CASH-7", dealer=hof, amount=Decimal("10.00"))
    before = ledger_state()

    for action in ("preview", "save"):
        response = logged_in(finance).post(
            "/finance/payments/new/", {**payment_data(), "action": action}
        )
        assert response.status_code == 400
        assert "A payment with the reference “CASH-7” is recorded already" in (
            response.content.decode()
        )

    erp.refresh_from_db()
    assert erp.amount == Decimal("10.00")
    assert ledger_state() == before


def test_a_reference_recorded_by_someone_else_meanwhile_is_not_overwritten(
    finance: Any, hof: Dealer, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp = PaymentFactory(reference="CASH-7", dealer=hof, amount=Decimal("10.00"))
    entry = PaymentEntry(
        reference="CASH-7", dealer=hof, received_on=TODAY, amount=Decimal("99.00"), method="cash"
    )
    # The other one commits just after this one looked: the check finds nothing.
    monkeypatch.setattr("receivables.payment_preview._refuse_if_not_new", lambda entry, today: None)

    with pytest.raises(Exception) as refused:
        record_payment(entry, user=finance, today=TODAY)

    assert "recorded already" in str(refused.value)
    erp.refresh_from_db()
    assert erp.amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "0", "The amount must be more than 0."),
        ("amount", "-5.00", "The amount must be more than 0."),
        ("amount", "10.005", "The amount has more than 2 decimals."),
        ("amount", "ten", "Enter an amount such as 1250.00."),
        ("dealer", "NOBODY", "There is no dealer with the code “NOBODY”."),
        ("received_on", "2.3.2026", "“2.3.2026” is not a date: use YYYY-MM-DD."),
        ("reference", "", "This field is required."),
    ],
)
def test_bad_input_gets_a_form_error_and_changes_nothing(
    finance: Any, hof: Dealer, field: str, value: str, message: str
) -> None:
    before = ledger_state()
    for action in ("preview", "save"):
        response = logged_in(finance).post(
            "/finance/payments/new/", {**payment_data(**{field: value}), "action": action}
        )
        assert response.status_code == 400
        assert message in response.content.decode()
    assert ledger_state() == before


def test_an_order_of_another_dealer_is_refused_next_to_the_order(finance: Any, hof: Dealer) -> None:
    OrderFactory(number="THEIRS", dealer=DealerFactory(code="OTHER"))
    response = logged_in(finance).post("/finance/payments/new/", payment_data(order="THEIRS"))

    assert response.status_code == 400
    assert response.context["form"].errors["order"] == ["Order 'THEIRS' belongs to another dealer."]


def test_a_dealer_out_of_sight_is_no_dealer(collector: Any, hof: Dealer) -> None:
    from django.contrib.auth.models import Permission

    # A collector who may enter payments sees only their own dealers.
    collector.user_permissions.add(Permission.objects.get(codename="add_payment"))
    DealerFactory(code="MINE", collector=collector)
    client = logged_in(collector)

    refused = client.post("/finance/payments/new/", payment_data())
    mine = client.post("/finance/payments/new/", payment_data(dealer="MINE"))

    assert refused.status_code == 400
    assert "There is no dealer with the code “HOF1”." in refused.content.decode()
    assert mine.status_code == 200
    assert "preview" in mine.context


def test_the_form_starts_on_today_with_a_bank_transfer(finance: Any) -> None:
    response = logged_in(finance).get("/finance/payments/new/?dealer=HOF1")

    form = response.context["form"]
    assert (form["received_on"].value(), form["method"].value(), form["dealer"].value()) == (
        TODAY, "transfer", "HOF1"
    )  # fmt: skip
    assert 'max="2026-03-02"' in response.content.decode()


# --- The list and who may use it ------------------------------------------------------------


def test_the_list_filters_by_dealer_and_date_and_marks_hand_entries(
    finance: Any, hof: Dealer
) -> None:
    other = DealerFactory(code="OTHER", name="Other Farm")
    PaymentFactory(reference="ERP-A", dealer=other, received_on=D(2026, 1, 15))
    PaymentFactory(reference="ERP-B", dealer=hof, received_on=D(2026, 2, 15))
    client = logged_in(finance)
    client.post("/finance/payments/new/", {**payment_data(), "action": "save"})

    everything = client.get("/finance/payments/")
    by_dealer = client.get("/finance/payments/?dealer=HOF1")
    by_date = client.get("/finance/payments/?received_from=2026-02-01&received_to=2026-02-28")

    def references(response: Any) -> list[str]:
        return [p.reference for p in response.context["payments"]]

    assert references(everything) == ["CASH-7", "ERP-B", "ERP-A"]
    assert references(by_dealer) == ["CASH-7", "ERP-B"]
    assert references(by_date) == ["ERP-B"]
    page = everything.content.decode()
    assert "By hand · fiona" in page
    assert "Cash" in page


def test_the_list_refuses_a_span_that_ends_before_it_starts(finance: Any) -> None:
    response = logged_in(finance).get(
        "/finance/payments/?received_from=2026-03-01&received_to=2026-02-01"
    )

    assert response.status_code == 400
    assert "The end of the span is before its start." in response.content.decode()


def test_the_list_is_paginated(finance: Any, hof: Dealer) -> None:
    for n in range(30):
        PaymentFactory(reference=f"P{n:03d}", dealer=hof)

    first = logged_in(finance).get("/finance/payments/")
    second = logged_in(finance).get("/finance/payments/?page=2")

    assert len(first.context["payments"]) == 25
    assert len(second.context["payments"]) == 5
    assert "30 payments" in first.content.decode()


def test_the_desk_lists_my_recent_hand_entries(finance: Any, manager: Any, hof: Dealer) -> None:
    logged_in(finance).post("/finance/payments/new/", {**payment_data(), "action": "save"})
    logged_in(manager).post(
        "/finance/payments/new/",
        {**payment_data(reference="MGR-1", amount="5.00"), "action": "save"},
    )
    PaymentFactory(reference="ERP-9", dealer=hof)

    page = logged_in(finance).get("/finance/").content.decode()

    assert page.count('data-testid="recent-payment"') == 1
    assert "CASH-7" in page
    assert "MGR-1" not in page


@pytest.mark.parametrize("role", ["collector", "agency", "auditor"])
def test_other_roles_get_the_403_page(role: str, hof: Dealer) -> None:
    client = logged_in(UserFactory(role=role))
    payment = PaymentFactory(dealer=hof)

    for url in ("/finance/payments/", "/finance/payments/new/", f"/finance/payments/{payment.pk}/"):
        assert client.get(url).status_code == 403
    assert (
        client.post("/finance/payments/new/", {**payment_data(), "action": "save"}).status_code
        == 403
    )
    assert not Payment.objects.filter(reference="CASH-7").exists()


def test_a_payment_of_a_dealer_out_of_sight_is_not_found(collector: Any, hof: Dealer) -> None:
    from django.contrib.auth.models import Permission

    collector.user_permissions.add(Permission.objects.get(codename="add_payment"))
    payment = PaymentFactory(dealer=hof)

    assert logged_in(collector).get(f"/finance/payments/{payment.pk}/").status_code == 404


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_the_payment_pages_cost_the_same_queries_for_10_and_200_dealers(
    finance: Any, collector: Any
) -> None:
    client = logged_in(finance)
    urls = [
        "/finance/",
        "/finance/payments/",
        "/finance/payments/?page=2",
        "/finance/payments/?dealer=QC0002&received_from=2025-01-01",
        "/finance/payments/new/",
    ]
    grow_book(10, collector=collector, requester=finance)
    client.post(
        "/finance/payments/new/",
        {**payment_data(dealer="QC0001", reference="HAND-1", amount="1.00"), "action": "save"},
    )
    urls.append(f"/finance/payments/{Payment.objects.get(reference='HAND-1').pk}/")
    small = {url: count_queries(client, url) for url in urls}
    grow_book(200, collector=collector, requester=finance)
    for n in range(2, 12):
        client.post(
            "/finance/payments/new/",
            {**payment_data(dealer=f"QC{n:04d}", reference=f"HAND-{n}", amount="1.00"),
             "action": "save"},
        )  # fmt: skip
    large = {url: count_queries(client, url) for url in urls}

    assert small == large


def test_a_payment_settling_many_orders_lists_a_page_of_them(finance: Any) -> None:
    from receivables.balances import refresh

    dealer = DealerFactory(code="BIG1")
    Order.objects.bulk_create(
        Order(
            number=f"M-{n:03d}",
            dealer=dealer,
            ordered_on=D(2026, 1, 5),
            due_on=D(2026, 2, 4),
            amount=Decimal("10.00"),
        )
        for n in range(120)
    )
    refresh([dealer.pk])
    client = logged_in(finance)
    data = payment_data(dealer="BIG1", amount="1200.00")

    preview = client.post("/finance/payments/new/", data)
    saved = client.post("/finance/payments/new/", {**data, "action": "save"}, follow=True)
    second = client.get(saved.redirect_chain[-1][0] + "?page=3")

    page = preview.content.decode()
    assert len(preview.context["preview"].orders) == 120
    assert page.count('data-testid="preview-order"') == 100
    assert "… and 20 more orders, in the total below." in page
    assert "1,200.00" in page
    assert saved.content.decode().count('data-testid="allocation"') == 50
    assert second.content.decode().count('data-testid="allocation"') == 20

"""The dealer page: account header, contacts, open items, payments, scoping."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from receivables.allocation import reallocate_dealers
from receivables.models import Contact
from tests.factories import (
    AgencyFactory,
    ContactFactory,
    DealerFactory,
    OrderFactory,
    PaymentFactory,
)

TODAY = dt.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC), tick=False)


def order(dealer, number: str, *, days_late: int, amount: str = "1000.00", **fields):
    due_on = TODAY - dt.timedelta(days=days_late)
    return OrderFactory(
        dealer=dealer,
        number=number,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
        **fields,
    )


def test_collector_gets_404_for_another_collectors_dealer(client, collector, other_collector):
    DealerFactory(code="THEIRS", collector=other_collector)
    client.force_login(collector)
    assert client.get("/dealers/THEIRS/").status_code == 404


def test_collector_sees_own_dealer(client, collector):
    DealerFactory(code="MINE", collector=collector)
    client.force_login(collector)
    assert client.get("/dealers/MINE/").status_code == 200


def test_manager_sees_any_dealer(client, manager, other_collector):
    DealerFactory(code="ANY", collector=other_collector)
    client.force_login(manager)
    assert client.get("/dealers/ANY/").status_code == 200


def test_agency_sees_placed_dealer_but_not_others(client, agency_user):
    DealerFactory(code="PLACED", agency=agency_user.agencies.get())
    DealerFactory(code="OTHER", agency=AgencyFactory(name="Other Agency"))
    client.force_login(agency_user)
    assert client.get("/dealers/PLACED/").status_code == 200
    assert client.get("/dealers/OTHER/").status_code == 404


def test_unknown_dealer_is_404(client, manager):
    client.force_login(manager)
    assert client.get("/dealers/NOPE/").status_code == 404


def test_header_shows_terms_limit_use_collector_and_agency(client, manager, collector):
    dealer = DealerFactory(
        code="HDR",
        collector=collector,
        agency=AgencyFactory(name="Southern Recovery"),
        payment_terms_days=45,
        credit_limit=Decimal("20000.00"),
    )
    order(dealer, "O-1", days_late=10, amount="5000.00")
    client.force_login(manager)
    response = client.get("/dealers/HDR/")
    body = response.content.decode()
    assert "45 days" in body
    assert "20,000.00 EUR" in body
    assert "25%" in body
    assert "carl" in body
    assert "Southern Recovery" in body


def test_credit_use_over_the_limit_is_flagged(client, manager):
    dealer = DealerFactory(code="OVER", credit_limit=Decimal("1000.00"))
    order(dealer, "O-1", days_late=10, amount="1500.00")
    client.force_login(manager)
    body = client.get("/dealers/OVER/").content.decode()
    assert "150%" in body
    assert "meter-over" in body


def test_dealer_without_credit_limit_says_so(client, manager):
    DealerFactory(code="NOLIMIT", credit_limit=Decimal("0.00"))
    client.force_login(manager)
    assert "No limit" in client.get("/dealers/NOLIMIT/").content.decode()


def test_contacts_show_role_phone_email_and_window(client, manager):
    dealer = DealerFactory(code="CON")
    ContactFactory(
        dealer=dealer,
        name="Greta Hof",
        role=Contact.Role.CONTROLLER,
        phone="+49 441 55555",
        email="greta@example.com",
        window_from=dt.time(15, 0),
        window_to=dt.time(16, 30),
    )
    client.force_login(manager)
    body = client.get("/dealers/CON/").content.decode()
    assert "Greta Hof" in body
    assert "Financial controller" in body
    assert "tel:+49 441 55555" in body
    assert "mailto:greta@example.com" in body
    assert "15:00-16:30" in body


def test_open_items_are_listed_oldest_first_with_open_amounts(client, manager):
    dealer = DealerFactory(code="ITEMS")
    order(dealer, "NEWER", days_late=5)
    order(dealer, "OLDEST", days_late=70, amount="2000.00")
    order(dealer, "PAID", days_late=100)
    order(dealer, "NOTDUE", days_late=-10)
    PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("1500.00"))
    reallocate_dealers([dealer.pk])
    client.force_login(manager)
    response = client.get("/dealers/ITEMS/")
    items = response.context["open_items"]
    assert [o.number for o in items] == ["OLDEST", "NEWER", "NOTDUE"]
    assert items[0].open_amount == Decimal("1500.00")
    assert [o.days_late for o in items] == [70, 5, 0]


def test_disputed_item_shows_flag_and_reason(client, manager):
    dealer = DealerFactory(code="DISP")
    order(
        dealer,
        "D-1",
        days_late=20,
        disputed=True,
        disputed_amount=Decimal("300.00"),
        dispute_reason="Two pallets damaged on delivery",
    )
    client.force_login(manager)
    body = client.get("/dealers/DISP/").content.decode()
    assert "Disputed 300.00" in body
    assert "Two pallets damaged on delivery" in body


def test_payments_show_their_allocations_and_unapplied_credit(client, manager):
    dealer = DealerFactory(code="PAY")
    order(dealer, "INV-1", days_late=30, amount="400.00")
    PaymentFactory(dealer=dealer, reference="TRX-1", received_on=TODAY, amount=Decimal("650.00"))
    reallocate_dealers([dealer.pk])
    client.force_login(manager)
    response = client.get("/dealers/PAY/")
    body = response.content.decode()
    assert "TRX-1" in body
    assert '<span class="code">INV-1</span> 400.00' in body
    assert response.context["unapplied_credit"] == Decimal("250.00")
    assert 'data-testid="unapplied-credit">250.00<' in body


def test_payments_are_paginated_newest_first(client, manager):
    dealer = DealerFactory(code="MANY")
    for n in range(25):
        PaymentFactory(
            dealer=dealer,
            reference=f"R{n:02d}",
            received_on=TODAY - dt.timedelta(days=n),
            amount=Decimal("10.00"),
        )
    client.force_login(manager)
    first = client.get("/dealers/MANY/")
    assert [p.reference for p in first.context["payments_page"]][:2] == ["R00", "R01"]
    assert len(first.context["payments_page"]) == 20
    assert "?page=2#payments" in first.content.decode()
    second = client.get("/dealers/MANY/?page=2")
    assert [p.reference for p in second.context["payments_page"]] == [
        f"R{n:02d}" for n in range(20, 25)
    ]


def test_history_link_is_shown_to_staff_with_view_permission(client, manager, collector):
    dealer = DealerFactory(code="HIST")
    client.force_login(collector)
    assert "Change history" not in client.get("/dealers/HIST/").content.decode()

    manager.is_staff = True
    manager.save()
    client.force_login(manager)
    body = client.get("/dealers/HIST/").content.decode()
    assert f"/admin/receivables/dealer/{dealer.pk}/history/" in body


def test_history_link_needs_the_view_permission_too(client, collector):
    DealerFactory(code="HIST", collector=collector)
    collector.is_staff = True
    collector.save()
    client.force_login(collector)
    assert "Change history" in client.get("/dealers/HIST/").content.decode()

    view_dealer = Permission.objects.get(codename="view_dealer")
    collector.groups.get().permissions.remove(view_dealer)
    assert "Change history" not in client.get("/dealers/HIST/").content.decode()


def _ledger(dealer, count: int) -> None:
    start = dealer.orders.count()
    for n in range(start, start + count):
        order(dealer, f"{dealer.code}-{n:03d}", days_late=n)
        PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("10.00"))
        ContactFactory(dealer=dealer)
    reallocate_dealers([dealer.pk])


def test_query_count_does_not_grow_with_orders_and_payments(
    client, collector, django_assert_num_queries
):
    dealer = DealerFactory(code="QC", collector=collector)
    client.force_login(collector)
    _ledger(dealer, 3)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get("/dealers/QC/").context["open_items"]) == 3
    _ledger(dealer, 27)
    with django_assert_num_queries(len(small)):
        response = client.get("/dealers/QC/")
    assert len(response.context["open_items"]) == 30
    assert len(response.context["payments_page"]) == 20

"""The dashboard: the user's totals and most overdue dealers."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from receivables.allocation import reallocate_dealers
from tests.factories import DealerFactory, OrderFactory, PaymentFactory

TODAY = dt.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC), tick=False)


def order(dealer, *, days_late: int, amount: str = "1000.00"):
    due_on = TODAY - dt.timedelta(days=days_late)
    return OrderFactory(
        dealer=dealer,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )


def test_totals_cover_only_the_users_dealers(client, collector, other_collector):
    mine = DealerFactory(code="MINE", collector=collector)
    order(mine, days_late=10, amount="1500.00")
    order(mine, days_late=-5, amount="500.00")
    also_mine = DealerFactory(code="MINE2", collector=collector)
    order(also_mine, days_late=40, amount="250.00")
    DealerFactory(code="CLEAN", collector=collector)
    theirs = DealerFactory(code="THEIRS", collector=other_collector)
    order(theirs, days_late=10, amount="99999.00")
    client.force_login(collector)
    response = client.get("/")
    assert response.context["totals"] == [
        {
            "currency": "EUR",
            "balance": Decimal("2250.00"),
            "overdue": Decimal("1750.00"),
            "overdue_dealers": 2,
        }
    ]
    body = response.content.decode()
    assert "2,250.00" in body
    assert "1,750.00" in body
    assert 'data-testid="overdue-dealers">2<' in body
    assert "THEIRS" not in body


def test_payments_reduce_the_totals(client, manager):
    dealer = DealerFactory()
    order(dealer, days_late=10, amount="1000.00")
    PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("400.00"))
    reallocate_dealers([dealer.pk])
    client.force_login(manager)
    [row] = client.get("/").context["totals"]
    assert row["balance"] == Decimal("600.00")
    assert row["overdue"] == Decimal("600.00")


def test_currencies_are_totalled_separately(client, manager):
    order(DealerFactory(currency="EUR"), days_late=10, amount="100.00")
    order(DealerFactory(currency="PLN", country="PL"), days_late=10, amount="400.00")
    client.force_login(manager)
    response = client.get("/")
    totals = {row["currency"]: row["balance"] for row in response.context["totals"]}
    assert totals == {"EUR": Decimal("100.00"), "PLN": Decimal("400.00")}
    assert response.context["overdue_dealers"] == 2


def test_nothing_open_shows_zero(client, manager):
    client.force_login(manager)
    body = client.get("/").content.decode()
    assert "0.00" in body
    assert "Nothing is overdue." in body


def test_most_overdue_dealers_are_listed_with_links(client, manager):
    small = DealerFactory(code="SMALL")
    order(small, days_late=10, amount="100.00")
    large = DealerFactory(code="LARGE")
    order(large, days_late=10, amount="5000.00")
    client.force_login(manager)
    response = client.get("/")
    assert [d.code for d in response.context["most_overdue"]] == ["LARGE", "SMALL"]
    body = response.content.decode()
    assert 'href="/dealers/LARGE/"' in body
    assert 'href="/dealers/"' in body
    assert 'href="/reports/aging/"' in body


def test_query_count_does_not_grow_with_dealers(client, collector, django_assert_num_queries):
    client.force_login(collector)

    def add(count: int) -> None:
        for n in range(count):
            dealer = DealerFactory(collector=collector)
            order(dealer, days_late=n + 1)
            PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("10.00"))
        reallocate_dealers(collector.dealers.values_list("pk", flat=True))

    add(3)
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    add(27)
    with django_assert_num_queries(len(small)):
        response = client.get("/")
    assert response.context["overdue_dealers"] == 30

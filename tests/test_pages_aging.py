"""The aging report page: buckets, as-of date, filters, scoping, errors."""

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


def buckets(response, currency: str = "EUR") -> dict[str, tuple[int, Decimal]]:
    [report] = [r for r in response.context["reports"] if r["currency"] == currency]
    return {b["key"]: (b["count"], b["amount"]) for b in report["buckets"]}


def test_defaults_to_today_with_all_eight_buckets(client, manager):
    dealer = DealerFactory()
    order(dealer, days_late=0, amount="100.00")
    order(dealer, days_late=1, amount="200.00")
    order(dealer, days_late=45, amount="300.00")
    order(dealer, days_late=800, amount="400.00")
    client.force_login(manager)
    response = client.get("/reports/aging/")
    assert response.context["form"]["as_of"].value() == "2026-03-16"
    assert buckets(response) == {
        "current": (1, Decimal("100.00")),
        "1-30": (1, Decimal("200.00")),
        "31-60": (1, Decimal("300.00")),
        "61-90": (0, Decimal("0.00")),
        "91-180": (0, Decimal("0.00")),
        "181-365": (0, Decimal("0.00")),
        "366-730": (0, Decimal("0.00")),
        "731+": (1, Decimal("400.00")),
    }
    body = response.content.decode()
    assert body.count("<tr data-bucket=") == 8
    assert "1,000.00" in body  # total


def test_bars_are_sized_against_the_largest_bucket(client, manager):
    dealer = DealerFactory()
    order(dealer, days_late=10, amount="400.00")
    order(dealer, days_late=100, amount="100.00")
    client.force_login(manager)
    body = client.get("/reports/aging/").content.decode()
    assert 'style="width: 100.0%"' in body
    assert 'style="width: 25.0%"' in body
    assert 'style="width: 0.0%"' in body


def test_changing_the_as_of_date_ages_orders_differently(client, manager):
    dealer = DealerFactory()
    order(dealer, days_late=10)
    client.force_login(manager)
    response = client.get("/reports/aging/?as_of=2026-06-14")
    assert buckets(response)["91-180"] == (1, Decimal("1000.00"))
    assert response.context["link_buckets"] is False


def test_as_of_before_the_payment_shows_the_order_still_open(client, manager):
    dealer = DealerFactory()
    order(dealer, days_late=10)
    PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("1000.00"))
    reallocate_dealers([dealer.pk])
    client.force_login(manager)
    assert buckets(client.get("/reports/aging/"))["1-30"] == (0, Decimal("0.00"))
    yesterday = client.get("/reports/aging/?as_of=2026-03-15")
    assert buckets(yesterday)["1-30"] == (1, Decimal("1000.00"))


@pytest.mark.parametrize("bad", ["not-a-date", "2026-02-30", "16.03.2026", "0001-01-01"])
def test_bad_date_shows_the_error_next_to_the_field(client, manager, bad):
    client.force_login(manager)
    response = client.get("/reports/aging/", {"as_of": bad})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_as_of_error"' in body
    assert 'aria-invalid="true"' in body
    assert response.context["reports"] == []


def test_collector_sees_only_own_dealers_orders(client, collector, other_collector):
    order(DealerFactory(collector=collector), days_late=10, amount="100.00")
    order(DealerFactory(collector=other_collector), days_late=10, amount="900.00")
    client.force_login(collector)
    response = client.get("/reports/aging/")
    assert buckets(response)["1-30"] == (1, Decimal("100.00"))
    assert 'name="collector"' not in response.content.decode()


def test_agency_sees_only_placed_dealers(client, agency_user):
    order(DealerFactory(agency=agency_user.agencies.get()), days_late=100, amount="70.00")
    order(DealerFactory(), days_late=100, amount="900.00")
    client.force_login(agency_user)
    assert buckets(client.get("/reports/aging/"))["91-180"] == (1, Decimal("70.00"))


def test_region_and_collector_filters(client, manager, collector, other_collector):
    order(DealerFactory(region="North", collector=collector), days_late=10, amount="100.00")
    order(DealerFactory(region="South", collector=collector), days_late=10, amount="200.00")
    order(DealerFactory(region="North", collector=other_collector), days_late=10, amount="400.00")
    client.force_login(manager)
    assert buckets(client.get("/reports/aging/?region=North"))["1-30"] == (
        2,
        Decimal("500.00"),
    )
    response = client.get(f"/reports/aging/?region=North&collector={collector.pk}")
    assert buckets(response)["1-30"] == (1, Decimal("100.00"))


def test_each_currency_gets_its_own_report(client, manager):
    order(DealerFactory(currency="EUR"), days_late=10, amount="100.00")
    order(DealerFactory(currency="PLN", country="PL"), days_late=10, amount="400.00")
    client.force_login(manager)
    response = client.get("/reports/aging/")
    assert [r["currency"] for r in response.context["reports"]] == ["EUR", "PLN"]
    assert buckets(response, "PLN")["1-30"] == (1, Decimal("400.00"))
    only_pln = client.get("/reports/aging/?currency=PLN")
    assert [r["currency"] for r in only_pln.context["reports"]] == ["PLN"]


def test_bucket_rows_link_to_the_dealer_list_for_today(client, manager):
    order(DealerFactory(code="AGED", region="North"), days_late=45)
    order(DealerFactory(code="FRESH", region="North"), days_late=5)
    client.force_login(manager)
    body = client.get("/reports/aging/?region=North").content.decode()
    link = "/dealers/?region=North&amp;age=31-60"
    assert f'href="{link}"' in body
    listed = client.get(link.replace("&amp;", "&"))
    assert [d.code for d in listed.context["dealers"]] == ["AGED"]


def test_query_count_does_not_grow_with_orders(client, collector, django_assert_num_queries):
    client.force_login(collector)

    def add(count: int) -> None:
        for n in range(count):
            dealer = DealerFactory(collector=collector)
            order(dealer, days_late=n * 30)
            PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("10.00"))
        reallocate_dealers(collector.dealers.values_list("pk", flat=True))

    add(3)
    with CaptureQueriesContext(connection) as small:
        client.get("/reports/aging/")
    add(27)
    with django_assert_num_queries(len(small)):
        response = client.get("/reports/aging/")
    assert response.context["reports"][0]["total"]["count"] == 30


def test_bad_date_error_repeats_what_was_typed(client, manager):
    client.force_login(manager)
    body = client.get("/reports/aging/", {"as_of": "2026-02-30"}).content.decode()
    assert "“2026-02-30” is not a date: use YYYY-MM-DD." in body

"""The report endpoints of docs/API.md: aging and KPIs, over the dealers the user may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from receivables.allocation import reallocate_dealers
from receivables.models import Agency, ApiToken, Dealer, Order
from receivables.roles import role_of
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory

NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)  # noon in Berlin
TODAY = dt.date(2026, 3, 2)
AGING = "/api/v1/reports/aging"
KPIS = "/api/v1/reports/kpis?from=2026-01-01&to=2026-03-31"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def order_due(dealer: Dealer, days_ago: int, amount: str) -> Order:
    due_on = TODAY - dt.timedelta(days=days_ago)
    return OrderFactory(dealer=dealer, ordered_on=due_on, due_on=due_on, amount=Decimal(amount))


def bucket(answer: dict[str, Any], key: str) -> dict[str, Any]:
    return next(b for b in answer["buckets"] if b["key"] == key)


@pytest.fixture
def ledger(collector: Any, other_collector: Any, agency_user: Any) -> dict[str, Dealer]:
    """Three dealers, 100.00 open each: carl's, cora's and one placed with agnes's agency."""
    dealers = {
        "carl": DealerFactory(code="D-CARL", collector=collector),
        "cora": DealerFactory(code="D-CORA", collector=other_collector),
        "placed": DealerFactory(code="D-PLACED", agency=Agency.objects.get(users=agency_user)),
    }
    for dealer in dealers.values():
        order_due(dealer, 10, "100.00")
    return dealers


# --- Aging ----------------------------------------------------------------------------------


def test_aging_answers_api_md_shape_with_money_strings(manager: Any) -> None:
    dealer = DealerFactory()
    for days_ago, amount in [
        (-5, "10.00"),
        (0, "20.00"),
        (1, "30.10"),
        (30, "40.00"),
        (31, "50.00"),
        (90, "60.00"),
        (91, "70.00"),
        (365, "80.00"),
        (366, "90.00"),
        (730, "100.00"),
        (731, "110.00"),
    ]:
        order_due(dealer, days_ago, amount)

    response = api_as(manager).get(AGING)

    assert response.status_code == 200
    assert response.json() == {
        "as_of": "2026-03-02",
        "currency": "EUR",
        "buckets": [
            {"key": "current", "count": 1, "amount": "20.00"},  # not yet ordered: not open
            {"key": "1-30", "count": 2, "amount": "70.10"},
            {"key": "31-60", "count": 1, "amount": "50.00"},
            {"key": "61-90", "count": 1, "amount": "60.00"},
            {"key": "91-180", "count": 1, "amount": "70.00"},
            {"key": "181-365", "count": 1, "amount": "80.00"},
            {"key": "366-730", "count": 2, "amount": "190.00"},
            {"key": "731+", "count": 1, "amount": "110.00"},
        ],
        "total": {"count": 10, "amount": "650.10"},
    }


def test_aging_counts_only_the_unpaid_part_as_of_the_day(manager: Any) -> None:
    dealer = DealerFactory()
    order_due(dealer, 40, "100.00")
    PaymentFactory(dealer=dealer, received_on=TODAY - dt.timedelta(days=5), amount=Decimal("40"))
    reallocate_dealers([dealer.pk])
    client = api_as(manager)

    before_payment = client.get(AGING, {"as_of": "2026-02-20"}).json()
    today = client.get(AGING).json()

    assert bucket(before_payment, "1-30") == {"key": "1-30", "count": 1, "amount": "100.00"}
    assert bucket(today, "31-60") == {"key": "31-60", "count": 1, "amount": "60.00"}


@pytest.mark.parametrize("role", ["manager", "finance", "auditor"])
def test_office_roles_age_every_dealer(db: Any, ledger: dict[str, Dealer], role: str) -> None:
    answer = api_as(UserFactory(role=role)).get(AGING).json()

    assert answer["total"] == {"count": 3, "amount": "300.00"}


def test_collector_ages_only_own_dealers(collector: Any, ledger: dict[str, Dealer]) -> None:
    client = api_as(collector)

    assert client.get(AGING).json()["total"] == {"count": 1, "amount": "100.00"}
    # Naming another collector's dealer or the other collector reveals nothing.
    assert client.get(AGING, {"dealer": "D-CORA"}).json()["total"]["count"] == 0
    assert client.get(AGING, {"collector": "cora"}).json()["total"]["count"] == 0


def test_agency_ages_only_dealers_placed_with_it(
    agency_user: Any, ledger: dict[str, Dealer]
) -> None:
    answer = api_as(agency_user).get(AGING).json()

    assert answer["total"] == {"count": 1, "amount": "100.00"}


def test_aging_filters_by_dealer_and_by_collector(manager: Any, ledger: dict[str, Dealer]) -> None:
    client = api_as(manager)
    order_due(ledger["cora"], 50, "0.55")

    by_dealer = client.get(AGING, {"dealer": "D-CORA"}).json()
    by_collector = client.get(AGING, {"collector": "cora"}).json()
    unknown = client.get(AGING, {"dealer": "NOPE"}).json()

    assert by_dealer["total"] == by_collector["total"] == {"count": 2, "amount": "100.55"}
    assert unknown["total"] == {"count": 0, "amount": "0.00"}


def test_anonymous_client_cannot_read_reports(db: Any) -> None:
    assert Client().get(AGING).status_code == 401
    assert Client().get(KPIS).status_code == 401


def test_user_without_role_cannot_read_reports(db: Any) -> None:
    client = api_as(UserFactory())

    assert client.get(AGING).status_code == 403
    assert client.get(KPIS).status_code == 403


@pytest.mark.parametrize("as_of", ["yesterday", "2026-02-30", "0001-01-01"])
def test_bad_as_of_is_400(manager: Any, as_of: str) -> None:
    response = api_as(manager).get(AGING, {"as_of": as_of})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "as_of"


@pytest.mark.parametrize("name", ["dealer", "collector"])
def test_nul_character_in_a_filter_is_400(manager: Any, name: str) -> None:
    response = api_as(manager).get(AGING, {name: "a\x00"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == name


def test_aging_report_is_one_query(collector: Any, ledger: dict[str, Dealer]) -> None:
    role_of(collector)  # the role is read once per request, before the report
    visible = Dealer.objects.visible_to(collector)

    with CaptureQueriesContext(connection) as report_queries:
        Order.objects.filter(dealer__in=visible).aging(TODAY)

    assert len(report_queries) == 1


def test_aging_endpoint_queries_do_not_grow_with_the_ledger(manager: Any) -> None:
    client = api_as(manager)
    order_due(DealerFactory(), 10, "1.00")
    client.get(AGING)  # the token's last use is written once a minute

    with CaptureQueriesContext(connection) as small:
        client.get(AGING)
    for dealer in DealerFactory.create_batch(5):
        for days_ago in (0, 45, 400):
            order_due(dealer, days_ago, "1.00")
    with CaptureQueriesContext(connection) as large:
        client.get(AGING)

    assert len(large) == len(small)


# --- KPIs -----------------------------------------------------------------------------------


def test_kpis_answer_every_figure_as_a_two_decimal_string(manager: Any) -> None:
    dealer = DealerFactory()
    OrderFactory(
        dealer=dealer,
        ordered_on=dt.date(2026, 1, 10),
        due_on=dt.date(2026, 2, 9),
        amount=Decimal("1000.00"),
    )
    PaymentFactory(dealer=dealer, received_on=dt.date(2026, 2, 19), amount=Decimal("1000.00"))
    OrderFactory(
        dealer=dealer,
        ordered_on=dt.date(2026, 3, 1),
        due_on=dt.date(2026, 3, 31),
        amount=Decimal("333.33"),
    )
    reallocate_dealers([dealer.pk])

    answer = api_as(manager).get(KPIS).json()

    assert answer == {
        "from": "2026-01-01",
        "currency": "EUR",
        "to": "2026-03-31",
        "sales": "1333.33",
        "opening": "0.00",
        "closing": "333.33",
        "closing_current": "333.33",
        "dso": "22.50",
        "cei": "100.00",
        "average_days_late": "10.00",
        "orders_paid": 1,
        "broken_promise_rate": answer["broken_promise_rate"],
    }
    assert answer["broken_promise_rate"] is None or isinstance(answer["broken_promise_rate"], str)


def test_kpis_without_sales_have_null_ratios(manager: Any) -> None:
    answer = api_as(manager).get(KPIS).json()

    assert (answer["sales"], answer["dso"], answer["cei"], answer["average_days_late"]) == (
        "0.00",
        None,
        None,
        None,
    )


def test_collector_kpis_count_only_own_dealers(collector: Any, ledger: dict[str, Dealer]) -> None:
    answer = api_as(collector).get("/api/v1/reports/kpis?from=2026-02-01&to=2026-03-02").json()

    assert answer["sales"] == "100.00"


def test_agency_kpis_count_only_placed_dealers(agency_user: Any, ledger: dict[str, Dealer]) -> None:
    answer = api_as(agency_user).get("/api/v1/reports/kpis?from=2026-02-01&to=2026-03-02").json()

    assert answer["sales"] == "100.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=2026-03-31", "from"),
        ("from=2026-01-01", "to"),
        ("from=2026-04-01&to=2026-03-31", "to"),
        ("from=01/01/2026&to=2026-03-31", "from"),
    ],
)
def test_bad_kpi_period_is_400(manager: Any, query: str, field: str) -> None:
    response = api_as(manager).get(f"/api/v1/reports/kpis?{query}")

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_aging_can_be_limited_to_one_currency(manager: Any) -> None:
    euro = DealerFactory(currency="EUR")
    zloty = DealerFactory(currency="PLN", country="PL")
    OrderFactory(dealer=euro, amount=Decimal("100.00"))
    OrderFactory(dealer=zloty, amount=Decimal("400.00"))
    client = api_as(manager)

    answer = client.get("/api/v1/reports/aging?as_of=2026-03-01&currency=PLN").json()
    bad = client.get("/api/v1/reports/aging?currency=zloty")

    assert answer["total"] == {"count": 1, "amount": "400.00"}
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "currency"

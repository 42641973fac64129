"""The bad-debt allowance and the receipts forecast of docs/API.md ("Reports"): their
shapes, their definitions, currencies and missing rates, who sees what, bad input, and a
cost in queries that does not grow with the book. Also: the promise-reliability rule is
one QuerySet rule for one dealer and for many."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionPolicy, InstallmentPlan, Promise, Stage
from dunning.models.promises import reliability_percent
from dunning.reports import forecast_end, iso_weeks, week_count
from dunning.services import promise_reliability
from receivables.models import Agency, ApiToken, Dealer, ExchangeRate
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import DealerFactory, OrderFactory, UserFactory
from tests.test_page_query_counts import grow_book

ALLOWANCE = "/api/v1/reports/allowance"
FORECAST = "/api/v1/reports/forecast"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def czk_rate(rate: str = "0.04", on: dt.date = dt.date(2025, 1, 1)) -> None:
    ExchangeRate.objects.create(currency="CZK", on=on, rate=Decimal(rate))


def by_class(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["risk_class"]: row for row in answer["classes"]}


# --- The allowance ---------------------------------------------------------------------------


@pytest.fixture
def book(collector: Any) -> dict[str, Dealer]:
    """One dealer per risk class (two in quasi-bad, one of them raised there by hard
    collection), a CZK one, and a dealer who owes nothing."""
    czk_rate()
    not_due = DealerFactory(code="NOTDUE", collector=collector)
    OrderFactory(
        dealer=not_due, ordered_on=TODAY, due_on=TODAY + dt.timedelta(days=30), amount="500.00"
    )
    hard = overdue_dealer(code="HARD", days=10, amount="100.00")
    account_in(hard, Stage.HARD)
    return {
        "not_due": not_due,
        "in_collection": overdue_dealer(code="COLL", days=40, amount="1000.00"),
        "quasi_bad": overdue_dealer(code="QUASI", days=120, amount="2000.00"),
        "hard": hard,
        "bad": overdue_dealer(code="BADCZ", days=400, amount="10000.00", currency="CZK"),
        "dead": overdue_dealer(code="DEAD", days=800, amount="300.00"),
        "paid_up": DealerFactory(code="NOTHING"),
    }


def test_allowance_answers_every_class_in_order_with_the_policy_rates(
    manager: Any, book: dict[str, Dealer]
) -> None:
    response = api_as(manager).get(ALLOWANCE)

    assert response.status_code == 200
    assert response.json() == {
        "as_of": "2026-03-02",
        "currency": "EUR",
        "classes": [
            {
                "risk_class": "uncollected",
                "count": 1,
                "open_amount": "500.00",
                "rate_percent": "1.00",
                "allowance": "5.00",
            },
            {
                "risk_class": "in_collection",
                "count": 1,
                "open_amount": "1000.00",
                "rate_percent": "5.00",
                "allowance": "50.00",
            },
            {
                "risk_class": "quasi_bad",
                "count": 2,
                "open_amount": "2100.00",
                "rate_percent": "20.00",
                "allowance": "420.00",
            },
            {  # 10,000.00 CZK at 0.04
                "risk_class": "bad",
                "count": 1,
                "open_amount": "400.00",
                "rate_percent": "50.00",
                "allowance": "200.00",
            },
            {
                "risk_class": "dead",
                "count": 1,
                "open_amount": "300.00",
                "rate_percent": "100.00",
                "allowance": "300.00",
            },
        ],
        "total": {"count": 6, "open_amount": "4300.00", "allowance": "975.00"},
    }


def test_allowance_lists_empty_classes_with_zeros(manager: Any) -> None:
    overdue_dealer(days=40, amount="100.00")

    answer = api_as(manager).get(ALLOWANCE).json()

    assert [row["risk_class"] for row in answer["classes"]] == [
        "uncollected",
        "in_collection",
        "quasi_bad",
        "bad",
        "dead",
    ]
    assert by_class(answer)["dead"] == {
        "risk_class": "dead",
        "count": 0,
        "open_amount": "0.00",
        "rate_percent": "100.00",
        "allowance": "0.00",
    }


def test_allowance_follows_the_policy_and_rounds_half_up(manager: Any) -> None:
    policy = CollectionPolicy.current()
    policy.allowance_in_collection_percent = Decimal("7.50")
    policy.save()
    overdue_dealer(days=40, amount="10.10")  # 10.10 x 7.5 % = 0.7575

    row = by_class(api_as(manager).get(ALLOWANCE).json())["in_collection"]

    assert row["rate_percent"] == "7.50"
    assert row["allowance"] == "0.76"


def test_allowance_rounds_a_half_cent_up(manager: Any) -> None:
    overdue_dealer(days=40, amount="0.10")  # 0.10 x 5 % = 0.005

    assert by_class(api_as(manager).get(ALLOWANCE).json())["in_collection"]["allowance"] == "0.01"


def test_allowance_in_one_currency_stays_unconverted(manager: Any, book: dict[str, Dealer]) -> None:
    answer = api_as(manager).get(ALLOWANCE, {"currency": "CZK"}).json()

    assert answer["currency"] == "CZK"
    assert by_class(answer)["bad"]["open_amount"] == "10000.00"
    assert by_class(answer)["bad"]["allowance"] == "5000.00"
    assert answer["total"] == {"count": 1, "open_amount": "10000.00", "allowance": "5000.00"}


def test_allowance_without_a_rate_answers_409_naming_the_currency(manager: Any) -> None:
    overdue_dealer(days=40, currency="CZK")
    client = api_as(manager)

    response = client.get(ALLOWANCE)

    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "currency"
    assert "CZK" in response.json()["errors"][0]["message"]
    assert client.get(ALLOWANCE, {"currency": "CZK"}).status_code == 200


def test_allowance_as_of_an_earlier_day_classes_by_that_day(
    manager: Any, book: dict[str, Dealer]
) -> None:
    # On 1 January the 120-day order was 60 days past due, the 400-day one 340, the
    # 40-day one not yet due, and the other orders not yet placed.
    answer = api_as(manager).get(ALLOWANCE, {"as_of": "2026-01-01"}).json()

    assert answer["as_of"] == "2026-01-01"
    assert by_class(answer)["uncollected"]["open_amount"] == "1000.00"
    assert by_class(answer)["in_collection"]["open_amount"] == "2000.00"
    assert by_class(answer)["quasi_bad"]["open_amount"] == "400.00"
    assert by_class(answer)["bad"]["count"] == 0
    assert by_class(answer)["dead"]["open_amount"] == "300.00"


def test_allowance_covers_only_the_dealers_the_user_sees(
    collector: Any, agency_user: Any, book: dict[str, Dealer]
) -> None:
    placed = overdue_dealer(code="PLACED", days=40, amount="70.00")
    placed.agency = Agency.objects.get(users=agency_user)
    placed.save()

    mine = api_as(collector).get(ALLOWANCE).json()
    theirs = api_as(agency_user).get(ALLOWANCE).json()

    assert mine["total"] == {"count": 1, "open_amount": "500.00", "allowance": "5.00"}
    assert theirs["total"] == {"count": 1, "open_amount": "70.00", "allowance": "3.50"}


def test_reports_need_a_role(db: Any) -> None:
    nobody = UserFactory()

    assert api_as(nobody).get(ALLOWANCE).status_code == 403
    assert api_as(nobody).get(FORECAST).status_code == 403
    assert Client().get(ALLOWANCE).status_code == 401


def test_allowance_refuses_a_malformed_day_or_currency(manager: Any) -> None:
    client = api_as(manager)

    assert client.get(ALLOWANCE, {"as_of": "2026-02-30"}).status_code == 400
    assert client.get(ALLOWANCE, {"currency": "euro"}).status_code == 400


# --- The forecast ----------------------------------------------------------------------------


def promise(
    dealer: Dealer,
    due_on: dt.date,
    amount: str = "100.00",
    status: str = Promise.Status.OPEN,
    plan: InstallmentPlan | None = None,
) -> Promise:
    return Promise.objects.create(
        dealer=dealer,
        plan=plan,
        amount=Decimal(amount),
        requested_due_on=due_on,
        due_on=due_on,
        made_on=min(due_on, TODAY) - dt.timedelta(days=5),
        status=status,
    )


def record(dealer: Dealer, kept: int, not_kept: int) -> None:
    """Decided promises of the last twelve months: `kept` kept, `not_kept` broken."""
    for n in range(kept):
        promise(dealer, TODAY - dt.timedelta(days=20 + n), status=Promise.Status.KEPT)
    for n in range(not_kept):
        promise(dealer, TODAY - dt.timedelta(days=40 + n), status=Promise.Status.BROKEN)


@pytest.fixture
def promises() -> dict[str, Dealer]:
    """R keeps 3 promises of 4 (75 %); S broke its only one; N and the CZK dealer have
    no record (the book's 3 of 5 = 60 % applies to them)."""
    czk_rate()
    reliable = DealerFactory(code="R")
    record(reliable, kept=3, not_kept=1)
    promise(reliable, dt.date(2026, 3, 4), "1000.00")  # W10
    plan = InstallmentPlan.objects.create(dealer=reliable, made_on=TODAY)
    promise(reliable, dt.date(2026, 3, 17), "300.00", plan=plan)  # W12
    promise(reliable, dt.date(2026, 3, 24), "300.00", plan=plan)  # W13
    promise(reliable, dt.date(2026, 3, 5), "999.00", status=Promise.Status.KEPT)  # decided
    promise(reliable, dt.date(2026, 4, 27), "888.00")  # W18: after the eight weeks
    slack = DealerFactory(code="S")
    record(slack, kept=0, not_kept=1)
    newcomer = DealerFactory(code="N")
    promise(newcomer, dt.date(2026, 3, 10), "200.00")  # W11
    czech = DealerFactory(code="CZ", currency="CZK", country="CZ")
    promise(czech, dt.date(2026, 3, 11), "5000.00")  # W11: 200.00 EUR
    return {"reliable": reliable, "slack": slack, "newcomer": newcomer, "czech": czech}


def weeks_of(answer: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {week["week"]: (week["promised"], week["expected"]) for week in answer["weeks"]}


def test_forecast_lists_the_next_eight_weeks_by_default(
    manager: Any, promises: dict[str, Dealer]
) -> None:
    response = api_as(manager).get(FORECAST)

    assert response.status_code == 200
    answer = response.json()
    assert answer["from"] == "2026-03-02"
    assert answer["to"] == "2026-04-26"
    assert answer["currency"] == "EUR"
    assert answer["default_reliability_percent"] == "60.00"
    assert weeks_of(answer) == {
        "2026-W10": ("1000.00", "750.00"),
        "2026-W11": ("400.00", "240.00"),  # 200 EUR + 5,000 CZK, both at the book's 60 %
        "2026-W12": ("300.00", "225.00"),  # installments are promises
        "2026-W13": ("300.00", "225.00"),
        "2026-W14": ("0.00", "0.00"),
        "2026-W15": ("0.00", "0.00"),
        "2026-W16": ("0.00", "0.00"),
        "2026-W17": ("0.00", "0.00"),
    }
    assert answer["weeks"][0] == {
        "week": "2026-W10",
        "from": "2026-03-02",
        "to": "2026-03-08",
        "promised": "1000.00",
        "expected": "750.00",
    }
    assert answer["total"] == {"promised": "2000.00", "expected": "1440.00"}


def test_forecast_cuts_the_first_and_last_week_to_the_range(
    manager: Any, promises: dict[str, Dealer]
) -> None:
    answer = api_as(manager).get(FORECAST, {"from": "2026-03-05", "to": "2026-03-17"}).json()

    assert [(w["week"], w["from"], w["to"]) for w in answer["weeks"]] == [
        ("2026-W10", "2026-03-05", "2026-03-08"),
        ("2026-W11", "2026-03-09", "2026-03-15"),
        ("2026-W12", "2026-03-16", "2026-03-17"),
    ]
    # The promise of 4 March is before the range.
    assert weeks_of(answer)["2026-W10"] == ("0.00", "0.00")
    assert weeks_of(answer)["2026-W12"] == ("300.00", "225.00")


def test_forecast_in_one_currency(manager: Any, promises: dict[str, Dealer]) -> None:
    answer = api_as(manager).get(FORECAST, {"currency": "CZK"}).json()

    assert answer["currency"] == "CZK"
    assert weeks_of(answer)["2026-W11"] == ("5000.00", "3000.00")
    assert answer["total"] == {"promised": "5000.00", "expected": "3000.00"}
    # The default reliability is the book's the user sees, whatever the currency.
    assert answer["default_reliability_percent"] == "60.00"


def test_forecast_without_any_record_counts_half(manager: Any) -> None:
    promise(DealerFactory(), dt.date(2026, 3, 3), "100.01")

    answer = api_as(manager).get(FORECAST).json()

    assert answer["default_reliability_percent"] == "50.00"
    assert weeks_of(answer)["2026-W10"] == ("100.01", "50.01")  # 50.005, half up


def test_forecast_covers_only_the_dealers_the_user_sees(
    collector: Any, promises: dict[str, Dealer]
) -> None:
    promises["newcomer"].collector = collector
    promises["newcomer"].save()
    mine = DealerFactory(collector=collector)
    record(mine, kept=1, not_kept=3)  # the portfolio's record: 1 of 4

    answer = api_as(collector).get(FORECAST).json()

    assert answer["default_reliability_percent"] == "25.00"
    assert answer["total"] == {"promised": "200.00", "expected": "50.00"}


def test_forecast_without_a_rate_answers_409(manager: Any) -> None:
    promise(DealerFactory(currency="CZK"), dt.date(2026, 3, 3))

    response = api_as(manager).get(FORECAST)

    assert response.status_code == 409
    assert "CZK" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-03-10", "to": "2026-03-09"}, "to"),
        ({"from": "2026-01-01", "to": "2027-01-11"}, "to"),  # 55 ISO weeks
        ({"from": "2026-13-01"}, "from"),
        ({"currency": "eur"}, "currency"),
    ],
)
def test_forecast_refuses_bad_ranges(manager: Any, query: dict[str, str], field: str) -> None:
    response = api_as(manager).get(FORECAST, query)

    assert response.status_code == 400
    assert field in {error["field"] for error in response.json()["errors"]}


def test_forecast_accepts_53_weeks(manager: Any) -> None:
    response = api_as(manager).get(FORECAST, {"from": "2026-01-01", "to": "2026-12-31"})

    assert response.status_code == 200
    assert len(response.json()["weeks"]) == 53


def test_iso_weeks_across_the_new_year() -> None:
    weeks = iso_weeks(dt.date(2025, 12, 31), dt.date(2026, 1, 6))

    assert [(w.key, w.start, w.end) for w in weeks] == [
        ("2026-W01", dt.date(2025, 12, 31), dt.date(2026, 1, 4)),
        ("2026-W02", dt.date(2026, 1, 5), dt.date(2026, 1, 6)),
    ]
    assert [w.key for w in iso_weeks(dt.date(2026, 12, 28), dt.date(2027, 1, 4))] == [
        "2026-W53",
        "2027-W01",
    ]
    assert week_count(dt.date(2025, 12, 31), dt.date(2026, 1, 6)) == 2
    assert forecast_end(dt.date(2026, 3, 4)) == dt.date(2026, 4, 26)


# --- One reliability rule ------------------------------------------------------------------


def test_reliability_of_many_dealers_in_one_query_equals_each_dealers(db: Any) -> None:
    dealers = [DealerFactory() for _ in range(4)]
    for dealer, (kept, not_kept) in zip(dealers, [(3, 1), (0, 2), (1, 2), (0, 0)], strict=True):
        record(dealer, kept, not_kept)
        promise(dealer, dt.date(2026, 3, 20))
    promise(dealers[2], dt.date(2025, 3, 2), status=Promise.Status.KEPT)  # a year ago: out
    promise(dealers[2], dt.date(2026, 2, 1), status=Promise.Status.PARTLY_KEPT)

    with CaptureQueriesContext(connection) as captured:
        annotated = list(
            Promise.objects.filter(status=Promise.Status.OPEN).with_dealer_reliability(TODAY)
        )

    assert len(captured) == 1
    for row in annotated:
        assert reliability_percent(row.dealer_kept, row.dealer_decided) == promise_reliability(
            row.dealer, today=TODAY
        )
    assert [promise_reliability(d, today=TODAY) for d in dealers] == [
        Decimal("75.00"),
        Decimal("0.00"),
        Decimal("25.00"),
        None,
    ]


# --- Cost ------------------------------------------------------------------------------------


def test_reports_cost_the_same_queries_for_10_and_200_dealers(manager: Any, collector: Any) -> None:
    czk_rate()
    client = api_as(manager)
    urls = [ALLOWANCE, ALLOWANCE + "?as_of=2025-12-31", FORECAST, ALLOWANCE + "?currency=CZK"]

    def queries(url: str) -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    grow_book(10, collector=collector, requester=collector)
    small = {url: queries(url) for url in urls}
    grow_book(200, collector=collector, requester=collector)
    large = {url: queries(url) for url in urls}

    assert large == small

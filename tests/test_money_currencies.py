"""Money across dealers knows its currency: the worklist compares amounts in the reporting
currency, whole-book reports answer per currency or converted and named, and a missing
exchange rate is reported, naming the currency, never treated as 1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dunning.worklist import build_worklist
from receivables.models import ApiToken, ExchangeRate
from tests.collection_helpers import NOW, TODAY, overdue_dealer

KPIS = "/api/v1/reports/kpis?from=2026-01-01&to=2026-03-31"
AGING = "/api/v1/reports/aging?as_of=2026-03-02"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def czk_rate(rate: str = "0.04", on: dt.date = dt.date(2026, 1, 1)) -> ExchangeRate:
    return ExchangeRate.objects.create(currency="CZK", on=on, rate=Decimal(rate))


def test_the_same_amount_ranks_higher_in_euros_than_in_koruna(manager: Any) -> None:
    czk_rate()
    koruna = overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="50000.00")
    euro = overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="50000.00")

    work = build_worklist(manager, today=TODAY, now=NOW)

    assert [row.dealer.code for row in work.rows] == [euro.code, koruna.code]
    by_code = {row.dealer.code: row.priority for row in work.rows}
    assert by_code["D-EUR"].overdue_in_reporting == Decimal("50000.00")
    assert by_code["D-CZK"].overdue_in_reporting == Decimal("2000.00")
    assert by_code["D-EUR"].parts["amount overdue"] > by_code["D-CZK"].parts["amount overdue"]
    assert work.missing_rates == []


def test_a_worklist_without_a_rate_names_the_currency_instead_of_counting_it_as_euros(
    manager: Any,
) -> None:
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="50000.00")
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="500.00")

    work = build_worklist(manager, today=TODAY, now=NOW)

    assert work.missing_rates == ["CZK"]
    by_code = {row.dealer.code: row.priority for row in work.rows}
    assert by_code["D-CZK"].parts["amount overdue"] == Decimal("0.0")
    assert by_code["D-CZK"].missing_rate == "CZK"
    assert by_code["D-EUR"].parts["amount overdue"] > 0


def test_the_worklist_page_says_which_rate_is_missing(client: Client, manager: Any) -> None:
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK")
    client.force_login(manager)

    page = client.get("/worklist/").content.decode()

    assert "No exchange rate into EUR for" in page
    assert "CZK" in page


def test_kpis_of_one_currency_are_that_currencys_dealers_alone(manager: Any) -> None:
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="500.00", days=20)

    koruna = api_as(manager).get(KPIS + "&currency=CZK").json()
    euro = api_as(manager).get(KPIS + "&currency=EUR").json()

    assert (koruna["currency"], koruna["sales"], koruna["closing"]) == (
        "CZK",
        "30000.00",
        "30000.00",
    )
    assert (euro["currency"], euro["sales"], euro["closing"]) == ("EUR", "500.00", "500.00")


def test_kpis_of_the_whole_book_are_converted_and_name_the_reporting_currency(
    manager: Any,
) -> None:
    czk_rate("0.04", on=dt.date(2026, 3, 1))
    czk_rate("0.05", on=dt.date(2026, 4, 1))  # after the period: not used
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="500.00", days=20)

    answer = api_as(manager).get(KPIS).json()

    # 30,000 CZK at 0.04 (the latest rate on or before 31 March) is 1,200 EUR.
    assert answer["currency"] == "EUR"
    assert answer["sales"] == "1700.00"
    assert answer["closing"] == "1700.00"


def test_a_missing_rate_is_a_409_naming_the_currency(manager: Any) -> None:
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="500.00", days=20)

    kpis = api_as(manager).get(KPIS)
    aging = api_as(manager).get(AGING)

    for response in (kpis, aging):
        assert response.status_code == 409
        message = response.json()["errors"][0]["message"]
        assert "CZK" in message
        assert "No exchange rate" in message


def test_a_rate_from_after_the_day_does_not_count(manager: Any) -> None:
    czk_rate("0.04", on=dt.date(2026, 3, 3))
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)

    assert api_as(manager).get(AGING).status_code == 409


def test_aging_of_the_whole_book_converts_bucket_by_bucket(manager: Any) -> None:
    czk_rate("0.04")
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="500.00", days=45)

    answer = api_as(manager).get(AGING).json()

    buckets = {b["key"]: b for b in answer["buckets"]}
    assert answer["currency"] == "EUR"
    assert buckets["1-30"] == {"key": "1-30", "count": 1, "amount": "1200.00"}
    assert buckets["31-60"] == {"key": "31-60", "count": 1, "amount": "500.00"}
    assert answer["total"] == {"count": 2, "amount": "1700.00"}


def test_aging_of_one_currency_needs_no_rate_and_names_it(manager: Any) -> None:
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00", days=20)

    answer = api_as(manager).get(AGING + "&currency=CZK").json()

    assert answer["currency"] == "CZK"
    assert answer["total"] == {"count": 1, "amount": "30000.00"}


def test_the_dashboards_most_overdue_compares_amounts_in_the_reporting_currency(
    client: Client, manager: Any
) -> None:
    czk_rate("0.04")
    overdue_dealer(code="D-CZK", country="CZ", currency="CZK", amount="30000.00")
    overdue_dealer(code="D-EUR", country="DE", currency="EUR", amount="2000.00")
    overdue_dealer(code="D-PLN", country="PL", currency="PLN", amount="90000.00")
    client.force_login(manager)

    ranked = [dealer.code for dealer in client.get("/").context["most_overdue"]]

    # 2,000 EUR before 30,000 CZK (1,200 EUR); zloty have no rate and come last.
    assert ranked == ["D-EUR", "D-CZK", "D-PLN"]

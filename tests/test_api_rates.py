"""The exchange-rate endpoints: finance and managers set rates, every role but the
agency reads them, bad input is answered with 400 naming the field and changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from receivables.models import ApiToken, ExchangeRate
from tests.factories import ExchangeRateFactory

pytestmark = pytest.mark.django_db

D = dt.date
URL = "/api/v1/rates/CZK/2026-11-02"


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def put(client: Client, url: str, body: Any) -> Any:
    return client.put(url, body, content_type="application/json")


def errors_of(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.fixture
def role_user(request: pytest.FixtureRequest) -> Any:
    """The user of the role named by the test's parameter (a fixture of conftest.py)."""
    return request.getfixturevalue(request.param)


# --- Who may write --------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["finance", "manager"], indirect=True)
def test_finance_and_managers_may_set_a_rate(role_user: Any) -> None:
    response = put(api_as(role_user), URL, {"rate": "0.03978"})

    assert response.status_code == 200, response.content
    assert response.json() == {"currency": "CZK", "on": "2026-11-02", "rate": "0.03978000"}
    stored = ExchangeRate.objects.get()
    assert (stored.currency, stored.on, stored.rate) == ("CZK", D(2026, 11, 2), Decimal("0.03978"))
    record = stored.history.get()
    assert record.history_user == role_user
    assert record.history_change_reason == f"API PUT {URL}"


@pytest.mark.parametrize("role_user", ["collector", "auditor", "agency_user"], indirect=True)
def test_other_roles_may_not_set_a_rate(role_user: Any) -> None:
    response = put(api_as(role_user), URL, {"rate": "0.03978"})

    assert response.status_code == 403
    assert response.json() == {
        "errors": [{"field": "", "message": "Your role does not allow this."}]
    }
    assert not ExchangeRate.objects.exists()


def test_an_anonymous_client_is_asked_to_authenticate(db: Any) -> None:
    assert put(Client(), URL, {"rate": "0.03978"}).status_code == 401
    assert Client().get("/api/v1/rates").status_code == 401
    assert not ExchangeRate.objects.exists()


def test_putting_the_same_rate_twice_writes_one_history_row(finance: Any) -> None:
    client = api_as(finance)

    first = put(client, URL, {"rate": "25.125"})
    second = put(client, URL, {"rate": 25.125})

    assert (
        first.json()
        == second.json()
        == {
            "currency": "CZK",
            "on": "2026-11-02",
            "rate": "25.12500000",
        }
    )
    assert ExchangeRate.objects.count() == 1
    assert ExchangeRate.history.count() == 1


def test_a_new_rate_for_the_day_replaces_the_old_one(finance: Any) -> None:
    client = api_as(finance)
    put(client, URL, {"rate": "0.04"})

    response = put(client, URL, {"rate": "0.041"})

    assert response.json()["rate"] == "0.04100000"
    assert ExchangeRate.objects.get().rate == Decimal("0.041")
    assert ExchangeRate.history.count() == 2


def test_a_rate_as_a_json_number_is_read_exactly(finance: Any) -> None:
    response = put(api_as(finance), URL, {"rate": 0.1})

    assert response.json()["rate"] == "0.10000000"
    assert ExchangeRate.objects.get().rate == Decimal("0.1")


def test_the_smallest_rate_is_written_out_without_an_exponent(finance: Any) -> None:
    response = put(api_as(finance), URL, {"rate": "0.00000001"})

    assert response.json()["rate"] == "0.00000001"


# --- Bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/rates/czk/2026-11-02", {"rate": "0.04"}, "currency"),
        ("/api/v1/rates/CZKK/2026-11-02", {"rate": "0.04"}, "currency"),
        ("/api/v1/rates/C1K/2026-11-02", {"rate": "0.04"}, "currency"),
        ("/api/v1/rates/EUR/2026-11-02", {"rate": "1"}, "currency"),
        ("/api/v1/rates/CZK/2026-02-30", {"rate": "0.04"}, "on"),
        ("/api/v1/rates/CZK/yesterday", {"rate": "0.04"}, "on"),
        ("/api/v1/rates/CZK/0001-01-01", {"rate": "0.04"}, "on"),
        (URL, {"rate": "0"}, "rate"),
        (URL, {"rate": 0}, "rate"),
        (URL, {"rate": "-0.04"}, "rate"),
        (URL, {"rate": "0.000000001"}, "rate"),
        (URL, {"rate": "10000000000"}, "rate"),
        (URL, {"rate": "NaN"}, "rate"),
        (URL, {"rate": "abc"}, "rate"),
        (URL, {"rate": None}, "rate"),
        (URL, {}, "rate"),
    ],
)
def test_bad_input_is_answered_with_400_naming_the_field(
    finance: Any, url: str, body: dict[str, Any], field: str
) -> None:
    errors = errors_of(put(api_as(finance), url, body))

    assert field in errors
    assert not ExchangeRate.objects.exists()
    assert not ExchangeRate.history.exists()


def test_the_messages_say_what_is_wrong(finance: Any) -> None:
    client = api_as(finance)

    assert errors_of(put(client, URL, {"rate": "-1"})) == {"rate": "The rate must be more than 0."}
    assert errors_of(put(client, URL, {"rate": "0.123456789"})) == {
        "rate": "The rate has more than 8 decimals."
    }
    assert errors_of(put(client, "/api/v1/rates/EUR/2026-11-02", {"rate": "1"})) == {
        "currency": "EUR is the reporting currency; its rate is always 1."
    }
    assert errors_of(put(client, "/api/v1/rates/czk/2026-11-02", {"rate": "1"})) == {
        "currency": "'czk' is not a currency code such as EUR."
    }


def test_a_bad_rate_leaves_the_stored_one_alone(finance: Any) -> None:
    client = api_as(finance)
    put(client, URL, {"rate": "0.04"})

    errors_of(put(client, URL, {"rate": "-0.04"}))

    assert ExchangeRate.objects.get().rate == Decimal("0.04")
    assert ExchangeRate.history.count() == 1


# --- Reading --------------------------------------------------------------------------------


@pytest.fixture
def rates(db: Any) -> None:
    ExchangeRateFactory(currency="CZK", on=D(2026, 1, 1), rate=Decimal("0.04"))
    ExchangeRateFactory(currency="CZK", on=D(2026, 2, 1), rate=Decimal("0.041"))
    ExchangeRateFactory(currency="PLN", on=D(2026, 1, 15), rate=Decimal("0.235"))
    ExchangeRateFactory(currency="USD", on=D(2026, 2, 1), rate=Decimal("0.92"))


@pytest.mark.parametrize("role_user", ["manager", "finance", "auditor", "collector"], indirect=True)
def test_every_role_but_the_agency_reads_the_rates_newest_first(
    role_user: Any, rates: None
) -> None:
    response = api_as(role_user).get("/api/v1/rates")

    assert response.status_code == 200, response.content
    assert response.json() == [
        {"currency": "CZK", "on": "2026-02-01", "rate": "0.04100000"},
        {"currency": "USD", "on": "2026-02-01", "rate": "0.92000000"},
        {"currency": "PLN", "on": "2026-01-15", "rate": "0.23500000"},
        {"currency": "CZK", "on": "2026-01-01", "rate": "0.04000000"},
    ]


def test_an_agency_may_not_read_the_rates(agency_user: Any, rates: None) -> None:
    response = api_as(agency_user).get("/api/v1/rates")

    assert response.status_code == 403


def test_rates_can_be_listed_for_one_currency(auditor: Any, rates: None) -> None:
    response = api_as(auditor).get("/api/v1/rates", {"currency": "CZK"})

    assert [(r["currency"], r["on"]) for r in response.json()] == [
        ("CZK", "2026-02-01"),
        ("CZK", "2026-01-01"),
    ]


def test_rates_can_be_listed_for_a_period_both_days_included(auditor: Any, rates: None) -> None:
    response = api_as(auditor).get("/api/v1/rates", {"from": "2026-01-15", "to": "2026-02-01"})

    assert [(r["currency"], r["on"]) for r in response.json()] == [
        ("CZK", "2026-02-01"),
        ("USD", "2026-02-01"),
        ("PLN", "2026-01-15"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"currency": "czk"}, "currency"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "soon"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
    ],
)
def test_a_bad_listing_query_is_answered_with_400_naming_the_field(
    auditor: Any, rates: None, query: dict[str, str], field: str
) -> None:
    assert field in errors_of(api_as(auditor).get("/api/v1/rates", query))


def test_the_openapi_document_lists_the_rate_endpoints(db: Any) -> None:
    paths = Client().get("/api/v1/openapi.json").json()["paths"]

    assert "put" in paths["/api/v1/rates/{currency}/{on}"]
    assert "get" in paths["/api/v1/rates"]
    assert {p["name"] for p in paths["/api/v1/rates"]["get"]["parameters"]} == {
        "currency",
        "from",
        "to",
    }

"""Who the API lets in: a bearer token or the browser session; anonymous clients get 401,
and the OpenAPI document and docs page are public."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from receivables.models import ApiToken, Dealer
from tests.factories import DealerFactory, UserFactory

# Every path of docs/API.md's "Ledger" and "Reports" tables.
LEDGER_AND_REPORT_PATHS = {
    "/api/v1/dealers/{code}": {"get", "put"},
    "/api/v1/dealers/{code}/credit-status": {"get"},
    "/api/v1/orders/{number}": {"put"},
    "/api/v1/payments/{reference}": {"put"},
    "/api/v1/reports/aging": {"get"},
    "/api/v1/reports/kpis": {"get"},
}


def bearer(raw: str) -> dict[str, str]:
    return {"authorization": f"Bearer {raw}"}


@pytest.fixture
def dealer(db: Any) -> Dealer:
    return DealerFactory(code="D1")


def test_openapi_document_is_public_and_lists_the_ledger_and_reports(db: Any) -> None:
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in LEDGER_AND_REPORT_PATHS.items():
        assert methods <= set(paths[path]), path


def test_openapi_document_names_kpi_period_parameters_as_api_md_does(db: Any) -> None:
    kpis = Client().get("/api/v1/openapi.json").json()["paths"]["/api/v1/reports/kpis"]

    # `from` and `to` as the contract names them, and the `currency` filter added later.
    assert {parameter["name"] for parameter in kpis["get"]["parameters"]} == {
        "from",
        "to",
        "currency",
    }


def test_docs_page_is_public(db: Any) -> None:
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"openapi.json" in response.content


def test_valid_token_authenticates(manager: Any, dealer: Dealer) -> None:
    _, raw = ApiToken.issue(manager)

    response = Client().get("/api/v1/dealers/D1", headers=bearer(raw))

    assert response.status_code == 200


def test_token_records_its_last_use(manager: Any, dealer: Dealer) -> None:
    token, raw = ApiToken.issue(manager)

    Client().get("/api/v1/dealers/D1", headers=bearer(raw))

    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer rd_not-a-token"},
        {"authorization": "Bearer "},
        {"authorization": "Basic bW9uYTpwdw=="},
    ],
)
def test_missing_or_wrong_credentials_are_401(dealer: Dealer, headers: dict[str, str]) -> None:
    response = Client().get("/api/v1/dealers/D1", headers=headers)

    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"field": "", "message": "Authentication required: send a bearer token."}]
    }


def test_token_of_an_inactive_user_is_401(dealer: Dealer) -> None:
    user = UserFactory(role="manager")
    _, raw = ApiToken.issue(user)
    user.is_active = False
    user.save()

    assert Client().get("/api/v1/dealers/D1", headers=bearer(raw)).status_code == 401


def test_wrong_token_on_a_write_is_401_not_a_csrf_error(dealer: Dealer) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.put(
        "/api/v1/dealers/D1",
        {"name": "X", "country": "DE", "currency": "EUR"},
        content_type="application/json",
        headers=bearer("rd_wrong"),
    )

    assert response.status_code == 401


def test_browser_session_authenticates(auditor: Any, dealer: Dealer) -> None:
    client = Client()
    client.force_login(auditor)

    assert client.get("/api/v1/dealers/D1").status_code == 200


def test_session_write_without_csrf_token_is_refused(finance: Any, dealer: Dealer) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)

    response = client.put(
        "/api/v1/dealers/D1",
        {"name": "Renamed", "country": "DE", "currency": "EUR"},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["errors"][0]["message"] == "CSRF check Failed"
    assert Dealer.objects.get(code="D1").name == dealer.name


def test_session_write_with_csrf_token_succeeds(finance: Any, dealer: Dealer) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(finance)
    client.get("/login/")  # hands out the CSRF cookie

    response = client.put(
        "/api/v1/dealers/D1",
        {"name": "Renamed", "country": "DE", "currency": "EUR"},
        content_type="application/json",
        headers={"x-csrftoken": client.cookies["csrftoken"].value},
    )

    assert response.status_code == 200
    assert Dealer.objects.get(code="D1").name == "Renamed"


def test_logged_out_session_is_401(manager: Any, dealer: Dealer) -> None:
    client = Client()
    client.force_login(manager)
    client.logout()

    assert client.get("/api/v1/dealers/D1").status_code == 401


def test_token_user_is_recorded_in_history(finance: Any, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC))
    _, raw = ApiToken.issue(finance)

    Client().put(
        "/api/v1/dealers/D9",
        {"name": "New", "country": "AT", "currency": "EUR"},
        content_type="application/json",
        headers=bearer(raw),
    )

    record = Dealer.history.get(code="D9")
    assert (record.history_user, record.history_change_reason) == (
        finance,
        "API PUT /api/v1/dealers/D9",
    )

"""The ledger endpoints of docs/API.md: dealers, orders and payments by business key, with the
web UI's permissions, idempotent PUTs and bad input answered with 400 and no change."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from receivables.models import Agency, Allocation, ApiToken, Dealer, Order, OrderLine, Payment
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory

# Noon in Berlin on a Monday: the business date is 2026-03-02 in every test here.
NOW = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def put(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.put(url, body, content_type="application/json")


def dealer_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Agro Nord GmbH", "country": "DE", "currency": "EUR", **overrides}


def order_body(dealer: Dealer, /, **overrides: Any) -> dict[str, Any]:
    return {
        "dealer": dealer.code,
        "ordered_on": "2026-01-05",
        "due_on": "2026-02-04",
        "amount": "1200.50",
        **overrides,
    }


def payment_body(dealer: Dealer, /, **overrides: Any) -> dict[str, Any]:
    return {"dealer": dealer.code, "received_on": "2026-02-10", "amount": "500.00", **overrides}


def errors_of(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.fixture
def carls_dealer(collector: Any) -> Dealer:
    return DealerFactory(code="D-CARL", collector=collector, credit_limit=Decimal("1000.00"))


@pytest.fixture
def placed_dealer(agency_user: Any) -> Dealer:
    return DealerFactory(code="D-PLACED", agency=Agency.objects.get(users=agency_user))


# --- Who may read a dealer ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/dealers/{}", "/api/v1/dealers/{}/credit-status"])
def test_anonymous_client_is_asked_to_authenticate(db: Any, path: str) -> None:
    dealer = DealerFactory()

    response = Client().get(path.format(dealer.code))

    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == ""


@pytest.mark.parametrize("path", ["/api/v1/dealers/{}", "/api/v1/dealers/{}/credit-status"])
@pytest.mark.parametrize("role", ["manager", "finance", "auditor"])
def test_office_roles_read_any_dealer(db: Any, path: str, role: str) -> None:
    dealer = DealerFactory()

    response = api_as(UserFactory(role=role)).get(path.format(dealer.code))

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/dealers/{}", "/api/v1/dealers/{}/credit-status"])
def test_collector_reads_own_dealer(collector: Any, carls_dealer: Dealer, path: str) -> None:
    response = api_as(collector).get(path.format(carls_dealer.code))

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/dealers/{}", "/api/v1/dealers/{}/credit-status"])
def test_collector_gets_404_for_another_collectors_dealer(
    other_collector: Any, carls_dealer: Dealer, path: str
) -> None:
    response = api_as(other_collector).get(path.format(carls_dealer.code))

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/dealers/{}", "/api/v1/dealers/{}/credit-status"])
def test_agency_reads_only_dealers_placed_with_it(
    agency_user: Any, placed_dealer: Dealer, path: str
) -> None:
    not_placed = DealerFactory(agency=Agency.objects.create(name="Other Agency"))
    client = api_as(agency_user)

    assert client.get(path.format(placed_dealer.code)).status_code == 200
    assert client.get(path.format(not_placed.code)).status_code == 404


def test_user_without_role_is_forbidden(db: Any) -> None:
    dealer = DealerFactory()

    response = api_as(UserFactory()).get(f"/api/v1/dealers/{dealer.code}")

    assert response.status_code == 403


def test_unknown_dealer_code_is_404(manager: Any) -> None:
    response = api_as(manager).get("/api/v1/dealers/NOPE")

    assert response.status_code == 404
    assert response.json() == {"errors": [{"field": "", "message": "No dealer 'NOPE'."}]}


# --- The dealer answer ----------------------------------------------------------------------


def test_dealer_answer_has_balance_overdue_and_money_as_strings(
    manager: Any, collector: Any
) -> None:
    dealer = DealerFactory(code="D1", collector=collector, credit_limit=Decimal("2000.00"))
    OrderFactory(dealer=dealer, due_on=dt.date(2026, 2, 1), amount=Decimal("1000.00"))
    OrderFactory(
        dealer=dealer,
        ordered_on=dt.date(2026, 2, 20),
        due_on=dt.date(2026, 3, 22),
        amount=Decimal("250.50"),
    )

    answer = api_as(manager).get("/api/v1/dealers/D1").json()

    assert answer["balance"] == "1250.50"
    assert answer["overdue"] == "1000.00"
    assert answer["oldest_due_on"] == "2026-02-01"
    assert answer["credit_limit"] == "2000.00"
    assert answer["collector"] == "carl"
    assert answer["stage"] == "current"
    assert answer["risk_class"] == "in_collection"
    assert answer["credit_hold"] is False


@pytest.mark.parametrize(
    ("due_on", "risk_class"),
    [
        (dt.date(2026, 3, 2), "uncollected"),
        (dt.date(2025, 12, 2), "in_collection"),  # 90 days past due
        (dt.date(2025, 12, 1), "quasi_bad"),  # 91 days
        (dt.date(2024, 3, 2), "bad"),  # 730 days
        (dt.date(2024, 3, 1), "dead"),  # 731 days
    ],
)
def test_risk_class_follows_age_of_oldest_overdue_order(
    manager: Any, due_on: dt.date, risk_class: str
) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(dealer=dealer, ordered_on=due_on, due_on=due_on)

    answer = api_as(manager).get("/api/v1/dealers/D1").json()

    assert answer["risk_class"] == risk_class


def test_dealer_over_its_credit_limit_is_on_hold_and_cash_only(manager: Any) -> None:
    dealer = DealerFactory(code="D1", credit_limit=Decimal("1000.00"), currency="EUR")
    OrderFactory(dealer=dealer, amount=Decimal("1000.01"))
    client = api_as(manager)

    assert client.get("/api/v1/dealers/D1").json()["credit_hold"] is True
    assert client.get("/api/v1/dealers/D1/credit-status").json() == {
        "credit_hold": True,
        "cash_only": True,
        "reason": "Credit hold: open balance 1000.01 EUR is over the credit limit of 1000.00 EUR. "
        "New orders cash only.",
    }


def test_dealer_without_credit_limit_is_never_on_hold(manager: Any) -> None:
    dealer = DealerFactory(code="D1", credit_limit=Decimal("0.00"))
    OrderFactory(dealer=dealer, amount=Decimal("99999.00"))

    answer = api_as(manager).get("/api/v1/dealers/D1/credit-status").json()

    assert answer == {
        "credit_hold": False,
        "cash_only": False,
        "reason": "No hold: credit terms apply.",
    }


def test_dealer_answer_costs_the_same_queries_however_many_orders(manager: Any) -> None:
    dealer = DealerFactory(code="D1")
    client = api_as(manager)
    OrderFactory(dealer=dealer)
    client.get("/api/v1/dealers/D1")  # the token's last use is written once a minute

    with CaptureQueriesContext(connection) as one_order:
        assert client.get("/api/v1/dealers/D1").status_code == 200
    OrderFactory.create_batch(20, dealer=dealer)
    with CaptureQueriesContext(connection) as many_orders:
        assert client.get("/api/v1/dealers/D1").status_code == 200

    assert len(many_orders) == len(one_order)


# --- Who may write --------------------------------------------------------------------------


def _write_requests(dealer: Dealer) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("/api/v1/dealers/D-NEW", dealer_body()),
        ("/api/v1/orders/0001", order_body(dealer)),
        ("/api/v1/payments/PAY-1", payment_body(dealer)),
    ]


@pytest.mark.parametrize("index", [0, 1, 2], ids=["dealer", "order", "payment"])
def test_anonymous_writes_are_asked_to_authenticate(db: Any, index: int) -> None:
    url, body = _write_requests(DealerFactory())[index]

    assert put(Client(), url, body).status_code == 401
    assert put(Client(enforce_csrf_checks=True), url, body).status_code == 401


@pytest.mark.parametrize("index", [0, 1, 2], ids=["dealer", "order", "payment"])
@pytest.mark.parametrize("role", ["collector", "agency", "auditor"])
def test_read_only_roles_cannot_write(db: Any, role: str, index: int) -> None:
    user = UserFactory(role=role)
    dealer = DealerFactory(collector=user)
    url, body = _write_requests(dealer)[index]

    response = put(api_as(user), url, body)

    assert response.status_code == 403
    assert not Dealer.objects.filter(code="D-NEW").exists()
    assert not Order.objects.exists()
    assert not Payment.objects.exists()


@pytest.mark.parametrize("index", [0, 1, 2], ids=["dealer", "order", "payment"])
@pytest.mark.parametrize("role", ["manager", "finance"])
def test_office_roles_write(db: Any, role: str, index: int) -> None:
    url, body = _write_requests(DealerFactory())[index]

    response = put(api_as(UserFactory(role=role)), url, body)

    assert response.status_code == 200, response.content


# --- PUT dealers ----------------------------------------------------------------------------


def test_put_dealer_creates_and_answers_the_dealer(finance: Any, collector: Any) -> None:
    body = dealer_body(
        country="de",
        address="Feldweg 3",
        language="de",
        credit_limit="5000",
        payment_terms_days=45,
        collector="carl",
        region="North",
        phone="+49 40 123",
    )

    response = put(api_as(finance), "/api/v1/dealers/D-0001", body)

    assert response.status_code == 200
    assert response.json() == {
        "code": "D-0001",
        "name": "Agro Nord GmbH",
        "country": "DE",
        "currency": "EUR",
        "language": "de",
        "address": "Feldweg 3",
        "postal_code": "",
        "city": "",
        "phone": "+49 40 123",
        "region": "North",
        "payment_terms_days": 45,
        "credit_limit": "5000.00",
        "collector": "carl",
        "balance": "0.00",
        "overdue": "0.00",
        "oldest_due_on": None,
        "stage": "current",
        "risk_class": "uncollected",
        "credit_hold": False,
        "last_acknowledged_on": None,
        "limitation_on": None,
    }
    dealer = Dealer.objects.get(code="D-0001")
    assert dealer.collector == collector
    assert dealer.history.get().history_user == finance


def test_put_same_dealer_twice_writes_one_history_row(finance: Any) -> None:
    client = api_as(finance)
    body = dealer_body(credit_limit="5000.00", collector=None, address="Feldweg 3")

    first = put(client, "/api/v1/dealers/D1", body)
    second = put(client, "/api/v1/dealers/D1", {**body, "credit_limit": 5000})

    assert first.json() == second.json()
    assert Dealer.history.filter(code="D1").count() == 1


def test_put_dealer_updates_and_keeps_fields_left_out(finance: Any, collector: Any) -> None:
    DealerFactory(code="D1", collector=collector, region="South", phone="+49 1")

    response = put(api_as(finance), "/api/v1/dealers/D1", dealer_body(name="Renamed"))

    dealer = Dealer.objects.get(code="D1")
    assert response.json()["name"] == "Renamed"
    assert (dealer.name, dealer.collector, dealer.region) == ("Renamed", collector, "South")
    assert dealer.history.count() == 2


def test_put_dealer_with_null_collector_removes_the_collector(
    finance: Any, carls_dealer: Dealer
) -> None:
    response = put(
        api_as(finance), f"/api/v1/dealers/{carls_dealer.code}", dealer_body(collector=None)
    )

    assert response.json()["collector"] is None
    carls_dealer.refresh_from_db()
    assert carls_dealer.collector is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "DEU"}, "country"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "E1R"}, "currency"),
        ({"collector": "nobody"}, "collector"),
        ({"credit_limit": "-1.00"}, "credit_limit"),
        ({"credit_limit": "10.005"}, "credit_limit"),
        ({"credit_limit": "lots"}, "credit_limit"),
        ({"credit_limit": 1e20}, "credit_limit"),
        ({"payment_terms_days": -1}, "payment_terms_days"),
        ({"name": ""}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"address": None}, "address"),
    ],
)
def test_bad_dealer_input_is_400_on_its_field_and_changes_nothing(
    finance: Any, overrides: dict[str, Any], field: str
) -> None:
    DealerFactory(code="D1", name="Before")

    response = put(api_as(finance), "/api/v1/dealers/D1", dealer_body(**overrides))

    assert field in errors_of(response)
    assert Dealer.objects.get(code="D1").name == "Before"
    assert Dealer.history.filter(code="D1").count() == 1


def test_missing_required_dealer_fields_are_each_reported(finance: Any) -> None:
    response = put(api_as(finance), "/api/v1/dealers/D1", {})

    assert set(errors_of(response)) == {"name", "country", "currency"}
    assert not Dealer.objects.exists()


def test_body_that_is_not_json_is_400(finance: Any) -> None:
    response = api_as(finance).put(
        "/api/v1/dealers/D1", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "errors" in response.json()


def test_dealer_code_longer_than_the_key_is_400(finance: Any) -> None:
    response = put(api_as(finance), "/api/v1/dealers/" + "D" * 41, dealer_body())

    assert "code" in errors_of(response)


# --- PUT orders -----------------------------------------------------------------------------


def test_put_order_creates_it_with_lines(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    body = order_body(
        dealer,
        lines=[
            {"product": "Layer mash 25 kg", "quantity": "40", "unit_price": "18.75"},
            {"product": "Calf starter", "quantity": 10.5, "unit_price": 42.9},
        ],
    )

    response = put(api_as(finance), "/api/v1/orders/000123", body)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "number": "000123",
        "dealer": "D1",
        "ordered_on": "2026-01-05",
        "due_on": "2026-02-04",
        "amount": "1200.50",
        "disputed": False,
        "dispute_reason": "",
        "disputed_amount": None,
        "lines": [
            {"product": "Layer mash 25 kg", "quantity": "40.000", "unit_price": "18.75"},
            {"product": "Calf starter", "quantity": "10.500", "unit_price": "42.90"},
        ],
        "paid": "0.00",
        "open_amount": "1200.50",
    }
    assert Order.objects.get(number="000123").history.get().history_user == finance


def test_put_same_order_twice_writes_no_second_history_row(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    client = api_as(finance)
    body = order_body(
        dealer, lines=[{"product": "Layer mash", "quantity": "40", "unit_price": "18.75"}]
    )

    put(client, "/api/v1/orders/0001", body)
    second = put(client, "/api/v1/orders/0001", {**body, "amount": 1200.5})

    assert second.status_code == 200
    assert Order.history.count() == 1
    assert OrderLine.history.count() == 1


def test_put_order_replaces_its_lines(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    client = api_as(finance)
    old = [{"product": "Old", "quantity": "1", "unit_price": "1.00"}]
    new = [
        {"product": "New A", "quantity": "2", "unit_price": "3.00"},
        {"product": "New B", "quantity": "4", "unit_price": "5.00"},
    ]
    put(client, "/api/v1/orders/0001", order_body(dealer, lines=old))

    response = put(client, "/api/v1/orders/0001", order_body(dealer, lines=new))

    assert [line["product"] for line in response.json()["lines"]] == ["New A", "New B"]
    assert list(OrderLine.objects.values_list("product", flat=True)) == ["New A", "New B"]


def test_put_order_keeps_a_dispute_the_erp_does_not_send(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(
        number="0001",
        dealer=dealer,
        amount=Decimal("1200.50"),
        disputed=True,
        dispute_reason="Wet bags",
        disputed_amount=Decimal("100.00"),
    )

    answer = put(api_as(finance), "/api/v1/orders/0001", order_body(dealer)).json()

    assert (answer["disputed"], answer["dispute_reason"], answer["disputed_amount"]) == (
        True,
        "Wet bags",
        "100.00",
    )


def test_new_order_absorbs_waiting_dealer_credit(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    PaymentFactory(dealer=dealer, received_on=dt.date(2026, 1, 1), amount=Decimal("300.00"))

    answer = put(api_as(finance), "/api/v1/orders/0001", order_body(dealer)).json()

    assert (answer["paid"], answer["open_amount"]) == ("300.00", "900.50")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"dealer": "NOPE"}, "dealer"),
        ({"due_on": "2026-01-04"}, "due_on"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": None}, "amount"),
        ({"ordered_on": "05.01.2026"}, "ordered_on"),
        ({"ordered_on": "0001-01-01"}, "ordered_on"),
        ({"disputed_amount": "5000.00"}, "disputed_amount"),
        ({"disputed_amount": "0.00"}, "disputed_amount"),
        ({"lines": [{"product": "X", "quantity": "0", "unit_price": "1"}]}, "lines.0.quantity"),
        ({"lines": [{"product": "X", "quantity": "1", "unit_price": "-1"}]}, "lines.0.unit_price"),
        ({"lines": [{"product": " ", "quantity": "1", "unit_price": "1"}]}, "lines.0.product"),
        ({"lines": [{"product": "X", "quantity": "1"}]}, "lines.0.unit_price"),
    ],
)
def test_bad_order_input_is_400_on_its_field_and_changes_nothing(
    finance: Any, overrides: dict[str, Any], field: str
) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(number="0001", dealer=dealer, amount=Decimal("777.00"))

    response = put(api_as(finance), "/api/v1/orders/0001", order_body(dealer, **overrides))

    assert field in errors_of(response)
    assert Order.objects.get(number="0001").amount == Decimal("777.00")
    assert Order.history.count() == 1
    assert not OrderLine.objects.exists()


def test_moving_an_order_to_another_dealer_reallocates_both(finance: Any) -> None:
    first, second = DealerFactory(code="D1"), DealerFactory(code="D2")
    OrderFactory(number="0001", dealer=first, amount=Decimal("1200.50"))
    payment = PaymentFactory(dealer=first, amount=Decimal("100.00"))
    assert payment.allocations.count() == 0  # factories bypass the allocation service
    put(api_as(finance), "/api/v1/orders/0001", order_body(first))
    assert payment.allocations.count() == 1

    answer = put(api_as(finance), "/api/v1/orders/0001", order_body(second)).json()

    assert (answer["dealer"], answer["paid"]) == ("D2", "0.00")
    assert not Allocation.objects.exists()


def test_an_order_named_by_its_dealers_payment_cannot_move(finance: Any) -> None:
    first, second = DealerFactory(code="D1"), DealerFactory(code="D2")
    order = OrderFactory(number="0001", dealer=first)
    PaymentFactory(reference="PAY-1", dealer=first, order=order)

    response = put(api_as(finance), "/api/v1/orders/0001", order_body(second))

    assert "PAY-1" in errors_of(response)["dealer"]
    assert Order.objects.get(number="0001").dealer == first


# --- PUT payments ---------------------------------------------------------------------------


def test_put_payment_answers_its_allocations_and_leftover_credit(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(number="A", dealer=dealer, due_on=dt.date(2026, 1, 31), amount=Decimal("300"))
    OrderFactory(number="B", dealer=dealer, due_on=dt.date(2026, 2, 15), amount=Decimal("200"))

    response = put(
        api_as(finance),
        "/api/v1/payments/PAY-1",
        payment_body(dealer, amount="650.00", method="cash"),
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "reference": "PAY-1",
        "dealer": "D1",
        "received_on": "2026-02-10",
        "amount": "650.00",
        "method": "cash",
        "order": None,
        "allocations": [
            {"order": "A", "amount": "300.00", "applied_on": "2026-02-10"},
            {"order": "B", "amount": "200.00", "applied_on": "2026-02-10"},
        ],
        "unallocated": "150.00",
    }


def test_payment_naming_an_order_pays_it_first(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(number="OLD", dealer=dealer, due_on=dt.date(2026, 1, 31))
    OrderFactory(number="NAMED", dealer=dealer, due_on=dt.date(2026, 2, 15))

    answer = put(
        api_as(finance), "/api/v1/payments/PAY-1", payment_body(dealer, order="NAMED")
    ).json()

    assert answer["order"] == "NAMED"
    assert answer["allocations"] == [
        {"order": "NAMED", "amount": "500.00", "applied_on": "2026-02-10"}
    ]


def test_put_same_payment_twice_writes_no_second_history_row(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(dealer=dealer)
    client = api_as(finance)

    first = put(client, "/api/v1/payments/PAY-1", payment_body(dealer))
    second = put(client, "/api/v1/payments/PAY-1", {**payment_body(dealer), "amount": 500})

    assert first.json() == second.json()
    assert Payment.history.count() == 1
    assert Allocation.history.count() == 1


def test_moving_a_payment_to_another_dealer_reallocates_both(finance: Any) -> None:
    first, second = DealerFactory(code="D1"), DealerFactory(code="D2")
    OrderFactory(number="A", dealer=first)
    OrderFactory(number="B", dealer=second)
    client = api_as(finance)
    put(client, "/api/v1/payments/PAY-1", payment_body(first))

    answer = put(client, "/api/v1/payments/PAY-1", payment_body(second)).json()

    assert answer["allocations"] == [{"order": "B", "amount": "500.00", "applied_on": "2026-02-10"}]
    assert list(Allocation.objects.values_list("order__number", flat=True)) == ["B"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"dealer": "NOPE"}, "dealer"),
        ({"order": "NOPE"}, "order"),
        ({"order": "THEIRS"}, "order"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "1e3"}, ""),  # accepted: 1000
        ({"received_on": "2026-02-30"}, "received_on"),
        ({"method": "bitcoin"}, "method"),
    ],
)
def test_bad_payment_input_is_400_on_its_field_and_changes_nothing(
    finance: Any, overrides: dict[str, Any], field: str
) -> None:
    dealer = DealerFactory(code="D1")
    OrderFactory(number="THEIRS", dealer=DealerFactory())

    response = put(api_as(finance), "/api/v1/payments/PAY-1", payment_body(dealer, **overrides))

    if field == "":
        assert response.status_code == 200
        assert response.json()["amount"] == "1000.00"
        return
    assert field in errors_of(response)
    assert not Payment.objects.exists()
    assert not Payment.history.exists()


def test_money_answers_are_strings_never_numbers(finance: Any) -> None:
    dealer = DealerFactory(code="D1")
    client = api_as(finance)

    order = put(client, "/api/v1/orders/0001", order_body(dealer, amount=10)).json()
    payment = put(client, "/api/v1/payments/PAY-1", payment_body(dealer, amount=4.5)).json()
    shown = client.get("/api/v1/dealers/D1").json()

    assert (order["amount"], order["open_amount"]) == ("10.00", "10.00")
    assert (payment["amount"], payment["allocations"][0]["amount"]) == ("4.50", "4.50")
    assert (shown["balance"], shown["overdue"], shown["credit_limit"]) == (
        "5.50",
        "5.50",
        "50000.00",
    )


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/dealers/D%001", dealer_body(), "code"),
        ("/api/v1/dealers/D1", dealer_body(collector="a\x00"), "collector"),
        ("/api/v1/orders/0%001", {"dealer": "D1"}, "number"),
        ("/api/v1/payments/P1", {"dealer": "D\x001"}, "dealer"),
    ],
)
def test_nul_characters_are_bad_input_not_a_database_error(
    finance: Any, url: str, body: dict[str, Any], field: str
) -> None:
    response = put(api_as(finance), url, body)

    assert errors_of(response)[field] == "Value error, Must not contain NUL characters."


def test_a_constraint_the_checks_missed_is_400_and_rolled_back(
    finance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    def lose_a_race(**kwargs: Any) -> None:
        DealerFactory(code="RACE")
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr("receivables.services.Dealer.objects.select_for_update", lose_a_race)

    response = put(api_as(finance), "/api/v1/dealers/D1", dealer_body())

    assert response.status_code == 400
    assert not Dealer.objects.exists()

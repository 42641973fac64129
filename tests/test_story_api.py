"""One dealer's whole story through the public API alone, with the default policy: the
ERP pushes the dealer and an order, the order goes overdue, the daily sweep (as the
scheduler runs it, once a day) moves the account, a promise is made and broken, the
collector asks for hard collection, a manager approves, the dealer is put on credit
hold, pays in full, and the account is back to `current`."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import Client

from receivables.models import ApiToken
from tests.factories import UserFactory

BERLIN = ZoneInfo("Europe/Berlin")
ORDERED_ON = dt.date(2026, 1, 5)
DUE_ON = dt.date(2026, 2, 4)


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def put(client: Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.put(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def post(client: Client, url: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == status, response.content
    return response.json()


def get(client: Client, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def clock(time_machine: Any):  # type: ignore[no-untyped-def]
    """Moves the business day; each call runs that morning's sweep as beat would."""

    def on(day: dt.date, *, sweep: bool = True) -> None:
        time_machine.move_to(dt.datetime.combine(day, dt.time(6, 0), tzinfo=BERLIN), tick=False)
        if sweep:
            call_command("run_collection_sweep", "--as-of", day.isoformat(), stdout=_Null())

    return on


class _Null:
    def write(self, *_args: Any) -> None:
        pass

    def flush(self) -> None:
        pass


def sweep_days(clock: Any, start: dt.date, end: dt.date) -> None:
    day = start
    while day <= end:
        clock(day)
        day += dt.timedelta(days=1)


@pytest.mark.django_db
def test_one_dealer_from_first_overdue_order_to_hard_and_back_to_current(clock: Any) -> None:
    erp = api_as(UserFactory(role="finance", username="erp"))
    collector_user = UserFactory(role="collector", username="carl")
    collector = api_as(collector_user)
    manager = api_as(UserFactory(role="manager", username="mona"))

    # The ERP pushes the dealer and its order.
    clock(ORDERED_ON, sweep=False)
    put(
        erp,
        "/api/v1/dealers/D-100",
        {
            "name": "Agrofarm Handel",
            "country": "DE",
            "currency": "EUR",
            "credit_limit": "50000.00",
            "payment_terms_days": 30,
            "collector": "carl",
        },
    )
    put(
        erp,
        "/api/v1/orders/0004711",
        {
            "dealer": "D-100",
            "ordered_on": ORDERED_ON.isoformat(),
            "due_on": DUE_ON.isoformat(),
            "amount": "12000.00",
        },
    )
    dealer = get(collector, "/api/v1/dealers/D-100")
    assert (dealer["stage"], dealer["risk_class"], dealer["credit_hold"]) == (
        "current",
        "uncollected",
        False,
    )

    # The day after the due date the sweep sends the account to reminder.
    sweep_days(clock, DUE_ON, DUE_ON + dt.timedelta(days=1))
    dealer = get(collector, "/api/v1/dealers/D-100")
    assert (dealer["stage"], dealer["overdue"], dealer["oldest_due_on"]) == (
        "reminder",
        "12000.00",
        DUE_ON.isoformat(),
    )

    # Day 10: the collector pins down a promise for Saturday 21 February; it moves to Monday.
    sweep_days(clock, DUE_ON + dt.timedelta(days=2), DUE_ON + dt.timedelta(days=10))
    promise = post(
        collector,
        "/api/v1/dealers/D-100/promises",
        {
            "amount": "12000.00",
            "due_on": "2026-02-21",
            "note": "after the harvest sale",
        },
    )
    assert (promise["requested_due_on"], promise["due_on"], promise["status"]) == (
        "2026-02-21",
        "2026-02-23",
        "open",
    )

    # Nothing arrives: the day after the promise date the sweep marks it broken.
    sweep_days(clock, DUE_ON + dt.timedelta(days=11), dt.date(2026, 2, 24))
    promises = get(collector, "/api/v1/dealers/D-100/promises")
    assert [p["status"] for p in promises] == ["broken"]

    # Day 30: soft collection.
    sweep_days(clock, dt.date(2026, 2, 25), DUE_ON + dt.timedelta(days=30))
    assert get(collector, "/api/v1/dealers/D-100")["stage"] == "soft"

    # The collector asks for hard collection; they cannot approve it themselves.
    request = post(
        collector,
        "/api/v1/dealers/D-100/escalations",
        {
            "to_stage": "hard",
            "reason": "Broken promise, no answer for two weeks.",
        },
    )
    assert (request["status"], request["requested_by"]) == ("pending", "carl")
    own = collector.post(
        f"/api/v1/escalations/{request['id']}/approve", {}, content_type="application/json"
    )
    assert own.status_code == 403

    # A manager approves; a second decision is a conflict.
    approved = post(
        manager, f"/api/v1/escalations/{request['id']}/approve", {"note": "Go."}, status=200
    )
    assert (approved["status"], approved["decided_by"]) == ("approved", "mona")
    again = manager.post(
        f"/api/v1/escalations/{request['id']}/reject", {}, content_type="application/json"
    )
    assert again.status_code == 409

    dealer = get(collector, "/api/v1/dealers/D-100")
    assert (dealer["stage"], dealer["credit_hold"]) == ("hard", True)
    credit = get(erp, "/api/v1/dealers/D-100/credit-status")
    assert credit["credit_hold"] is True and credit["cash_only"] is True
    assert "hard collection" in credit["reason"]

    # The dealer pays everything; the next morning's sweep brings the account back.
    paid_on = DUE_ON + dt.timedelta(days=40)
    clock(paid_on, sweep=False)
    payment = put(
        erp,
        "/api/v1/payments/BANK-778",
        {
            "dealer": "D-100",
            "received_on": paid_on.isoformat(),
            "amount": "12000.00",
            "order": "0004711",
        },
    )
    assert payment["allocations"][0]["amount"] == "12000.00"
    clock(paid_on + dt.timedelta(days=1))

    dealer = get(collector, "/api/v1/dealers/D-100")
    assert (dealer["stage"], dealer["overdue"], dealer["credit_hold"]) == ("current", "0.00", False)

    # The timeline tells the story, newest first, with every stage change.
    events = get(collector, "/api/v1/dealers/D-100/timeline")
    kinds = [event["kind"] for event in events]
    assert kinds.index("payment") < kinds.index("promise") < kinds.index("order")
    stage_changes = [event for event in events if event["kind"] == "stage_change"]
    assert len(stage_changes) == 4  # reminder, soft, hard, back to current
    escalations = get(manager, "/api/v1/escalations?dealer=D-100")
    assert [e["status"] for e in escalations] == ["approved"]

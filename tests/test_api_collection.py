"""The collection endpoints of docs/API.md: promises, escalations, the timeline, and logging
contacts and dealer events, with each role's rights and scoping (another portfolio's
dealer is a 404), money as strings, and the error shapes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import (
    Alert,
    CollectionAccount,
    ContactLog,
    Escalation,
    Excuse,
    Letter,
    Stage,
)
from dunning.services import (
    log_contact,
    make_promise,
    move_stage,
    reject_escalation,
    request_escalation,
    timeline,
)
from receivables.models import Agency, ApiToken
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer, pay_everything
from tests.factories import OrderFactory, PaymentFactory, UserFactory


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 2 March 2026, 15:30 in Berlin


def api_as(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    if body is None:
        return client.generic("POST", url)  # no body at all, as curl -X POST sends
    return client.post(url, body, content_type="application/json")


def errors_of(response: Any, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.content
    return {error["field"]: error["message"] for error in response.json()["errors"]}


@pytest.fixture
def carls_dealer(collector: Any) -> Any:
    dealer = overdue_dealer(days=65, collector=collector, code="D-CARL")
    account_in(dealer, Stage.SOFT)
    return dealer


@pytest.fixture
def placed_dealer(agency_user: Any) -> Any:
    return overdue_dealer(days=200, code="D-PLACED", agency=Agency.objects.get(users=agency_user))


# --- Promises -------------------------------------------------------------------------------


def test_collector_records_a_promise_moved_off_the_weekend(
    carls_dealer: Any, collector: Any
) -> None:
    response = post(
        api_as(collector),
        "/api/v1/dealers/D-CARL/promises",
        {"amount": "500.5", "due_on": "2026-03-07", "note": "Wife transfers it"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        "amount": "500.50",
        "requested_due_on": "2026-03-07",
        "due_on": "2026-03-09",
        "status": "open",
        "note": "Wife transfers it",
        "made_on": "2026-03-02",
        "plan": None,
    }


def test_promises_are_listed_newest_first(carls_dealer: Any, collector: Any) -> None:
    client = api_as(collector)
    for due_on in ("2026-03-10", "2026-03-20", "2026-03-05"):
        post(client, "/api/v1/dealers/D-CARL/promises", {"amount": "100", "due_on": due_on})

    response = client.get("/api/v1/dealers/D-CARL/promises")

    assert response.status_code == 200
    assert [p["due_on"] for p in response.json()] == ["2026-03-05", "2026-03-20", "2026-03-10"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount": "0", "due_on": "2026-03-10"}, "amount"),
        ({"amount": "ten", "due_on": "2026-03-10"}, "amount"),
        ({"amount": 1.5, "due_on": "2026-03-10"}, None),  # a JSON number is accepted
        ({"amount": "10.001", "due_on": "2026-03-10"}, "amount"),
        ({"amount": "10", "due_on": "2026-03-01"}, "due_on"),
        ({"amount": "10", "due_on": "next week"}, "due_on"),
        ({"amount": "10"}, "due_on"),
    ],
)
def test_bad_promise_is_a_400_naming_the_field(
    body: dict[str, Any], field: str | None, carls_dealer: Any, collector: Any
) -> None:
    response = post(api_as(collector), "/api/v1/dealers/D-CARL/promises", body)

    if field is None:
        assert response.status_code == 201
        assert response.json()["amount"] == "1.50"
    else:
        assert field in errors_of(response)


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("manager", 201),
        ("finance", 403),
        ("auditor", 403),
        ("other_collector", 404),
        ("agency_user", 404),
    ],
)
def test_who_may_record_a_promise(role: str, status: int, carls_dealer: Any, request: Any) -> None:
    client = api_as(request.getfixturevalue(role))

    response = post(
        client, "/api/v1/dealers/D-CARL/promises", {"amount": "1", "due_on": "2026-03-03"}
    )

    assert response.status_code == status, response.content


def test_agency_reads_and_records_promises_of_placed_dealers_only(
    placed_dealer: Any, agency_user: Any, carls_dealer: Any
) -> None:
    # An agency works the dealers placed with it: it pins down promises as a collector does.
    client = api_as(agency_user)

    assert client.get("/api/v1/dealers/D-PLACED/promises").status_code == 200
    response = post(
        client, "/api/v1/dealers/D-PLACED/promises", {"amount": "1", "due_on": "2026-03-03"}
    )
    assert response.status_code == 201
    assert response.json()["amount"] == "1.00"
    other = post(client, "/api/v1/dealers/D-CARL/promises", {"amount": "1", "due_on": "2026-03-03"})
    assert other.status_code == 404


def test_an_agency_sees_its_own_promises_and_not_the_timeline(
    placed_dealer: Any, agency_user: Any, manager: Any
) -> None:
    # The team's promises and the timeline (stage changes with escalation reasons and
    # managers' decisions) are internal: an agency reads only what its people recorded.
    post(
        api_as(manager),
        "/api/v1/dealers/D-PLACED/promises",
        {"amount": "2", "due_on": "2026-03-04"},
    )
    client = api_as(agency_user)
    post(client, "/api/v1/dealers/D-PLACED/promises", {"amount": "1", "due_on": "2026-03-03"})

    answer = client.get("/api/v1/dealers/D-PLACED/promises").json()
    assert [p["amount"] for p in answer] == ["1.00"]
    assert len(api_as(manager).get("/api/v1/dealers/D-PLACED/promises").json()) == 2
    assert client.get("/api/v1/dealers/D-PLACED/timeline").status_code == 403
    assert api_as(manager).get("/api/v1/dealers/D-PLACED/timeline").status_code == 200


def test_unknown_dealer_is_a_404(collector: Any) -> None:
    response = api_as(collector).get("/api/v1/dealers/NOPE/promises")

    assert errors_of(response, 404) == {"": "No dealer 'NOPE'."}


def test_anonymous_client_is_asked_to_authenticate(carls_dealer: Any) -> None:
    assert Client().get("/api/v1/dealers/D-CARL/promises").status_code == 401
    assert Client().get("/api/v1/escalations").status_code == 401


# --- Escalations ----------------------------------------------------------------------------


def test_collector_requests_escalation_and_gets_the_pending_request(
    carls_dealer: Any, collector: Any
) -> None:
    response = post(
        api_as(collector),
        "/api/v1/dealers/D-CARL/escalations",
        {"to_stage": "hard", "reason": "65 days past due, no answer"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert (body["dealer"], body["to_stage"], body["requested_by"]) == ("D-CARL", "hard", "carl")
    assert body["requested_at"] == "2026-03-02T15:30:00+01:00"
    assert (body["decided_by"], body["decided_at"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"to_stage": "soft", "reason": "x"}, "not one of"),
        ({"to_stage": "hard", "reason": "  "}, "required"),
    ],
)
def test_bad_escalation_request_is_a_400(
    body: dict[str, Any], message: str, carls_dealer: Any, collector: Any
) -> None:
    response = post(api_as(collector), "/api/v1/dealers/D-CARL/escalations", body)

    errors = errors_of(response)
    assert message in " ".join(errors.values())


def test_asking_twice_is_a_400_naming_the_pending_request(
    carls_dealer: Any, collector: Any
) -> None:
    client = api_as(collector)
    first = post(client, "/api/v1/dealers/D-CARL/escalations", {"to_stage": "hard", "reason": "a"})

    again = post(client, "/api/v1/dealers/D-CARL/escalations", {"to_stage": "hard", "reason": "b"})

    assert errors_of(again) == {
        "to_stage": f"A request to move to hard is already pending (#{first.json()['id']})."
    }


@pytest.mark.parametrize(
    ("role", "status"),
    [("finance", 403), ("auditor", 403), ("other_collector", 404), ("agency_user", 404)],
)
def test_who_may_not_request_escalation(
    role: str, status: int, carls_dealer: Any, request: Any
) -> None:
    client = api_as(request.getfixturevalue(role))

    response = post(
        client, "/api/v1/dealers/D-CARL/escalations", {"to_stage": "hard", "reason": "x"}
    )

    assert response.status_code == status


@pytest.fixture
def pending(carls_dealer: Any, collector: Any) -> Escalation:
    return request_escalation(
        dealer=carls_dealer, to_stage="hard", reason="No answer", by=collector, today=TODAY
    )


def test_manager_approves_and_the_account_moves(
    pending: Escalation, manager: Any, carls_dealer: Any
) -> None:
    response = post(
        api_as(manager), f"/api/v1/escalations/{pending.pk}/approve", {"note": "Go ahead"}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["decided_by"], body["decision_note"]) == (
        "approved",
        "mona",
        "Go ahead",
    )
    assert body["decided_at"] == "2026-03-02T15:30:00+01:00"
    assert CollectionAccount.objects.get(dealer=carls_dealer).stage == Stage.HARD


def test_a_decision_without_a_body_is_fine(pending: Escalation, manager: Any) -> None:
    response = post(api_as(manager), f"/api/v1/escalations/{pending.pk}/reject")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rejected"


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_collector_cannot_approve_own_request(
    action: str, pending: Escalation, collector: Any
) -> None:
    response = post(api_as(collector), f"/api/v1/escalations/{pending.pk}/{action}", {})

    assert errors_of(response, 403)
    assert Escalation.objects.get(pk=pending.pk).status == "pending"


def test_manager_cannot_approve_own_request(carls_dealer: Any, manager: Any) -> None:
    client = api_as(manager)
    own = post(client, "/api/v1/dealers/D-CARL/escalations", {"to_stage": "hard", "reason": "x"})

    response = post(client, f"/api/v1/escalations/{own.json()['id']}/approve", {})

    assert "another manager" in errors_of(response, 403)[""]


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_read_only_roles_cannot_decide(role: str, pending: Escalation, request: Any) -> None:
    client = api_as(request.getfixturevalue(role))

    assert post(client, f"/api/v1/escalations/{pending.pk}/approve", {}).status_code == 403


def test_second_decision_is_a_409(pending: Escalation, manager: Any) -> None:
    second_manager = UserFactory(role="manager", username="max")
    post(api_as(manager), f"/api/v1/escalations/{pending.pk}/approve", {})

    response = post(api_as(second_manager), f"/api/v1/escalations/{pending.pk}/reject", {})

    assert "already approved by mona" in errors_of(response, 409)[""]


def test_approving_after_the_dealer_paid_is_a_409(
    pending: Escalation, manager: Any, carls_dealer: Any
) -> None:
    pay_everything(carls_dealer)

    response = post(api_as(manager), f"/api/v1/escalations/{pending.pk}/approve", {})

    assert "nothing is past due" in errors_of(response, 409)[""]


def test_escalation_of_a_dealer_out_of_sight_is_a_404(
    pending: Escalation, other_collector: Any, agency_user: Any
) -> None:
    for user in (other_collector, agency_user):
        response = post(api_as(user), f"/api/v1/escalations/{pending.pk}/approve", {})
        assert response.status_code in (403, 404)
    assert (
        post(api_as(other_collector), f"/api/v1/escalations/{pending.pk}/approve", {}).status_code
        == 404
    )


def test_unknown_escalation_is_a_404(manager: Any) -> None:
    assert post(api_as(manager), "/api/v1/escalations/999999/approve", {}).status_code == 404


def test_escalation_list_filters_and_scopes(
    pending: Escalation, collector: Any, other_collector: Any, manager: Any
) -> None:
    coras = overdue_dealer(days=70, collector=other_collector, code="D-CORA")
    account_in(coras, Stage.SOFT)
    swept = request_escalation(
        dealer=coras, to_stage="hard", reason="60 days", by=None, today=TODAY
    )
    approved = request_escalation(
        dealer=coras, to_stage="litigation", reason="Closure", by=other_collector, today=TODAY
    )
    reject_escalation(escalation_id=approved.pk, by=manager, today=TODAY, now=NOW)

    everything = api_as(manager).get("/api/v1/escalations").json()
    assert {e["id"] for e in everything} == {pending.pk, swept.pk, approved.pk}
    assert next(e for e in everything if e["id"] == swept.pk)["requested_by"] == "system"
    pending_only = api_as(manager).get("/api/v1/escalations?status=pending").json()
    assert {e["id"] for e in pending_only} == {pending.pk, swept.pk}
    by_dealer = api_as(manager).get("/api/v1/escalations?dealer=D-CORA&status=rejected").json()
    assert [e["id"] for e in by_dealer] == [approved.pk]
    carls = api_as(collector).get("/api/v1/escalations").json()
    assert [e["id"] for e in carls] == [pending.pk]


def test_escalation_list_refuses_an_unknown_status(manager: Any) -> None:
    assert "status" in errors_of(api_as(manager).get("/api/v1/escalations?status=maybe"))


def test_agency_cannot_list_escalations(agency_user: Any) -> None:
    assert api_as(agency_user).get("/api/v1/escalations").status_code == 403


# --- Contacts and events --------------------------------------------------------------------


def test_contact_logged_in_quiet_hours_is_201_and_flagged(
    carls_dealer: Any, collector: Any
) -> None:
    response = post(
        api_as(collector),
        "/api/v1/dealers/D-CARL/contacts",
        {"channel": "phone", "outcome": "no_answer", "at": "2026-03-02T06:30:00+01:00"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["broken_rule"] == "no calls before 08:00"
    assert body["at"] == "2026-03-02T06:30:00+01:00"
    assert Alert.objects.filter(kind=Alert.Kind.CONTACT_RULE).exists()


def test_contact_without_a_time_happened_now(carls_dealer: Any, collector: Any) -> None:
    excuse = Excuse.objects.get(text="I am on a business trip")
    response = post(
        api_as(collector),
        "/api/v1/dealers/D-CARL/contacts",
        {"channel": "phone", "outcome": "reached", "excuse": excuse.pk, "note": "Back Friday"},
    )

    body = response.json()
    assert (body["at"], body["broken_rule"], body["excuse"]) == (
        "2026-03-02T15:30:00+01:00",
        "",
        "I am on a business trip",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "pigeon", "outcome": "reached"}, "channel"),
        ({"channel": "phone", "outcome": "reached", "at": "2026-03-03T10:00:00+01:00"}, "at"),
        ({"channel": "phone", "outcome": "reached", "person": 999999}, "person"),
        ({"channel": "phone", "outcome": "reached", "excuse": 999999}, "excuse"),
    ],
)
def test_bad_contact_is_a_400(
    body: dict[str, Any], field: str, carls_dealer: Any, collector: Any
) -> None:
    response = post(api_as(collector), "/api/v1/dealers/D-CARL/contacts", body)

    assert field in errors_of(response)
    assert not ContactLog.objects.exists()


def test_agency_logs_contacts_only_on_placed_dealers(
    placed_dealer: Any, carls_dealer: Any, agency_user: Any
) -> None:
    client = api_as(agency_user)
    body = {"channel": "visit", "outcome": "reached"}

    assert post(client, "/api/v1/dealers/D-PLACED/contacts", body).status_code == 201
    assert post(client, "/api/v1/dealers/D-CARL/contacts", body).status_code == 404


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_read_only_roles_cannot_log_contacts(role: str, carls_dealer: Any, request: Any) -> None:
    client = api_as(request.getfixturevalue(role))

    body = {"channel": "phone", "outcome": "reached"}
    assert post(client, "/api/v1/dealers/D-CARL/contacts", body).status_code == 403


def test_event_is_201_with_the_proposed_escalation(carls_dealer: Any, collector: Any) -> None:
    response = post(
        api_as(collector),
        "/api/v1/dealers/D-CARL/events",
        {"kind": "relocation", "occurred_on": "2026-02-27", "note": "Moved to Celle"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["reported_by"]) == ("relocation", "carl")
    proposal = body["proposed_escalation"]
    assert (proposal["to_stage"], proposal["requested_by"], proposal["status"]) == (
        "hard",
        "system",
        "pending",
    )


def test_auditor_cannot_report_events(carls_dealer: Any, auditor: Any) -> None:
    body = {"kind": "closure", "occurred_on": "2026-03-01"}
    assert post(api_as(auditor), "/api/v1/dealers/D-CARL/events", body).status_code == 403


# --- Timeline -------------------------------------------------------------------------------


def _story(dealer: Any, collector: Any, manager: Any, n: int) -> None:
    """n of each kind of entry on the dealer, on consecutive days of February."""
    account = CollectionAccount.objects.get(dealer=dealer)
    for i in range(n):
        day = dt.date(2026, 2, 1 + i)
        OrderFactory(dealer=dealer, ordered_on=day, due_on=day + dt.timedelta(days=30))
        PaymentFactory(dealer=dealer, received_on=day, amount=Decimal("10.00"))
        make_promise(dealer=dealer, amount=Decimal("10.00"), due_on=TODAY, by=collector, today=day)
        log_contact(
            dealer=dealer,
            channel="email",
            at=dt.datetime(2026, 2, 1 + i, 10, 0, tzinfo=dt.UTC),
            outcome="reached",
            by=collector,
            now=NOW,
        )
        Letter.objects.create(dealer=dealer, kind="reminder", level=i + 1, issued_on=day)
        verb = "harden" if account.stage == Stage.SOFT else "write_off"
        if i < 2:
            move_stage(account, verb, on=day, by=manager, reason=f"Step {i}")


def test_timeline_merges_everything_newest_first(
    carls_dealer: Any, collector: Any, manager: Any
) -> None:
    _story(carls_dealer, collector, manager, 2)

    response = api_as(collector).get("/api/v1/dealers/D-CARL/timeline")

    assert response.status_code == 200
    entries = response.json()
    days = [entry["on"] for entry in entries]
    assert days == sorted(days, reverse=True)
    assert {entry["kind"] for entry in entries} == {
        "order",
        "payment",
        "promise",
        "contact",
        "letter",
        "stage_change",
    }
    first_day = [e for e in entries if e["on"] == "2026-02-02"]
    assert {e["kind"] for e in first_day} == {
        "order",
        "payment",
        "promise",
        "contact",
        "letter",
        "stage_change",
    }
    payment = next(e for e in entries if e["kind"] == "payment")
    assert payment["amount"] == "10.00"
    change = next(e for e in entries if e["kind"] == "stage_change")
    assert change["by"] == "mona"
    assert "hard" in change["summary"]


def test_timeline_is_limited_to_the_newest(carls_dealer: Any, collector: Any, manager: Any) -> None:
    _story(carls_dealer, collector, manager, 4)

    entries = timeline(carls_dealer, limit=5)

    assert len(entries) == 5
    assert {entry["on"] for entry in entries} == {dt.date(2026, 2, 4)}


def test_timeline_query_count_does_not_grow_with_rows(
    carls_dealer: Any, collector: Any, manager: Any
) -> None:
    _story(carls_dealer, collector, manager, 1)
    with CaptureQueriesContext(connection) as small:
        timeline(carls_dealer)

    other = overdue_dealer(days=65, collector=collector)
    account_in(other, Stage.SOFT)
    _story(other, collector, manager, 8)
    with CaptureQueriesContext(connection) as large:
        entries = timeline(other)

    assert len(entries) > 40
    assert len(large) == len(small) == 6


@pytest.mark.parametrize(
    ("role", "status"),
    [("auditor", 200), ("finance", 200), ("manager", 200), ("other_collector", 404)],
)
def test_who_may_read_the_timeline(role: str, status: int, carls_dealer: Any, request: Any) -> None:
    response = api_as(request.getfixturevalue(role)).get("/api/v1/dealers/D-CARL/timeline")

    assert response.status_code == status


def test_the_openapi_document_lists_the_collection_endpoints(manager: Any) -> None:
    paths = api_as(manager).get("/api/v1/openapi.json").json()["paths"]

    for path in (
        "/api/v1/dealers/{code}/promises",
        "/api/v1/dealers/{code}/escalations",
        "/api/v1/escalations",
        "/api/v1/escalations/{escalation_id}/approve",
        "/api/v1/escalations/{escalation_id}/reject",
        "/api/v1/dealers/{code}/timeline",
        "/api/v1/dealers/{code}/contacts",
        "/api/v1/dealers/{code}/events",
    ):
        assert path in paths


def test_auditor_may_read_everything_but_post_nothing(carls_dealer: Any, auditor: Any) -> None:
    client = api_as(auditor)

    assert client.get("/api/v1/dealers/D-CARL/promises").status_code == 200
    assert client.get("/api/v1/escalations").status_code == 200
    assert client.get("/api/v1/dealers/D-CARL/timeline").status_code == 200
    for path, body in [
        ("/api/v1/dealers/D-CARL/promises", {"amount": "1", "due_on": "2026-03-03"}),
        ("/api/v1/dealers/D-CARL/escalations", {"to_stage": "hard", "reason": "x"}),
        ("/api/v1/dealers/D-CARL/contacts", {"channel": "phone", "outcome": "reached"}),
        ("/api/v1/dealers/D-CARL/events", {"kind": "closure", "occurred_on": "2026-03-01"}),
    ]:
        assert post(client, path, body).status_code == 403, path


def test_a_placement_request_names_an_existing_agency(carls_dealer: Any, collector: Any) -> None:
    Agency.objects.create(name="Southern Recovery")
    client = api_as(collector)
    url = "/api/v1/dealers/D-CARL/escalations"

    missing = post(client, url, {"to_stage": "agency", "reason": "Silent for weeks"})
    unknown = post(client, url, {"to_stage": "agency", "reason": "Silent", "agency": "Nobody Ltd"})
    placed = post(
        client, url, {"to_stage": "agency", "reason": "Silent", "agency": "Southern Recovery"}
    )

    assert errors_of(missing) == {"agency": "Name the agency the account is to be placed with."}
    assert errors_of(unknown) == {"agency": "No agency named 'Nobody Ltd'."}
    assert placed.status_code == 201
    assert (placed.json()["to_stage"], placed.json()["agency"]) == ("agency", "Southern Recovery")


def test_the_dealer_answer_says_when_the_debt_was_last_acknowledged_and_when_it_lapses(
    manager: Any,
) -> None:
    from dunning.models import CollectionPolicy
    from receivables.allocation import reallocate_dealers
    from tests.factories import DealerFactory, OrderFactory, PaymentFactory

    dealer = DealerFactory(code="LIM1")
    OrderFactory(
        dealer=dealer,
        ordered_on=dt.date(2024, 1, 2),
        due_on=dt.date(2024, 2, 1),
        amount=Decimal("500.00"),
    )
    client = api_as(manager)
    years = CollectionPolicy.current().limitation_years

    first = client.get("/api/v1/dealers/LIM1").json()
    PaymentFactory(dealer=dealer, received_on=dt.date(2025, 6, 10), amount=Decimal("100.00"))
    reallocate_dealers([dealer.pk])
    after_payment = client.get("/api/v1/dealers/LIM1").json()

    assert first["last_acknowledged_on"] is None
    assert first["limitation_on"] == f"{2024 + years}-02-01"
    assert after_payment["last_acknowledged_on"] == "2025-06-10"
    assert after_payment["limitation_on"] == f"{2025 + years}-06-10"

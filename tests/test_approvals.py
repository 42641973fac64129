"""The approvals page (issue 9, part B): the manager's escalation queue with the figures
to decide by, sorted, filtered and paginated in the database at a constant number of
queries; decisions on the ticked requests, each recorded one by one with what became of
it; a rejection needs a reason; readers see no forms."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning import services
from dunning.models import CollectionAccount, Escalation, Stage, StageChange
from dunning.services.escalations import decide_escalations
from receivables.models import Dealer, ExchangeRate
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer, pay_everything
from tests.factories import UserFactory
from tests.test_page_query_counts import grow_book


@pytest.fixture(autouse=True)
def business_day(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def bob(db: Any) -> Any:
    return UserFactory(role="manager", username="bob")


def soft(code: str, *, days: int = 40, amount: str = "1000.00", **fields: Any) -> Dealer:
    dealer = overdue_dealer(code=code, days=days, amount=amount, **fields)
    account_in(dealer, Stage.SOFT)
    return dealer


def ask(dealer: Dealer, by: Any, to_stage: str = Stage.HARD, reason: str = "Refuses") -> Escalation:
    return services.request_escalation(
        dealer=dealer, to_stage=to_stage, reason=reason, by=by, today=TODAY
    )


def ids_on(response: Any) -> list[int]:
    return [e.pk for e in response.context["escalations"]]


def rows_of(response: Any) -> dict[int, Any]:
    return {row.escalation.pk: row for row in response.context["rows"]}


def decide(client: Client, ids: list[int], decision: str, note: str = "", query: str = "") -> Any:
    url = "/escalations/decide/" + (f"?{query}" if query else "")
    return client.post(
        url, {"escalation": [str(i) for i in ids], "decision": decision, "note": note}
    )


def outcomes_after(client: Client, response: Any) -> list[str]:
    assert response.status_code == 302, response.status_code
    page = client.get(response["Location"])
    outcomes = page.context["outcomes"]
    assert outcomes is not None
    return [line["text"] for line in outcomes["lines"]]


# What a row shows


def test_a_row_shows_what_the_manager_decides_by(
    client: Client, manager: Any, collector: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=TODAY, rate=Decimal("0.04"))
    dealer = soft("FEED01", days=75, amount="100000.00", currency="CZK", name="Hof Brandt")
    escalation = ask(dealer, collector, reason="Three broken promises")
    client.force_login(manager)

    response = client.get("/escalations/")

    row = rows_of(response)[escalation.pk]
    assert row.escalation.overdue == Decimal("100000.00")
    assert row.overdue_in_reporting == Decimal("4000.00")
    assert row.days_past_due == 75
    assert (row.stage_then_label, row.stage_now_label) == ("Soft collection", "Soft collection")
    assert row.can_decide
    body = response.content.decode()
    assert 'href="/dealers/FEED01/collection/"' in body
    assert "Hof Brandt" in body
    assert "Soft collection → <strong>Hard collection</strong>" in body
    assert '100,000.00</span> <span class="ccy">CZK' in body
    assert "≈ 4,000.00" in body
    assert "requested by carl" in body
    assert "Three broken promises" in body
    assert "0 evidence files" in body
    assert f'href="/escalations/{escalation.pk}/evidence-pack.pdf"' in body
    # Internal names never show: labels do.
    assert ">hard<" not in body and ">soft<" not in body


def test_the_sweeps_proposal_says_so_and_a_moved_account_is_flagged(
    client: Client, manager: Any, time_machine: Any
) -> None:
    dealer = soft("FEED02", days=70)
    proposal = ask(dealer, None, reason="Proposed by the daily sweep: 70 days")
    time_machine.move_to(NOW + dt.timedelta(hours=1), tick=False)
    # The account moved on after the request: hard by another way.
    CollectionAccount.objects.filter(dealer=dealer).update(stage=Stage.HARD)
    StageChange.objects.create(
        dealer=dealer, from_stage=Stage.SOFT, to_stage=Stage.HARD, on=TODAY, reason="by hand"
    )
    client.force_login(manager)

    response = client.get("/escalations/")

    row = rows_of(response)[proposal.pk]
    assert (row.stage_then_label, row.stage_now_label, row.moved_since) == (
        "Soft collection",
        "Hard collection",
        True,
    )
    body = response.content.decode()
    assert "proposed by the daily sweep" in body
    assert "moved since the request" in body


def test_a_dealer_whose_currency_has_no_rate_says_so_and_sorts_last(
    client: Client, manager: Any, collector: Any
) -> None:
    unrated = ask(soft("PLN01", amount="900000.00", currency="PLN"), collector)
    small = ask(soft("EUR01", amount="10.00"), collector)
    client.force_login(manager)

    response = client.get("/escalations/", {"sort": "-overdue"})

    assert ids_on(response) == [small.pk, unrated.pk]
    assert rows_of(response)[unrated.pk].overdue_in_reporting is None
    assert "no PLN rate" in response.content.decode()
    assert ids_on(client.get("/escalations/", {"sort": "overdue"})) == [small.pk, unrated.pk]


# Sorting, filtering, paginating


@pytest.fixture
def queue(collector: Any, other_collector: Any, bob: Any) -> dict[str, Escalation]:
    """Four pending requests: by carl, by cora, by bob (a manager) and by the sweep."""
    ExchangeRate.objects.create(currency="CZK", on=TODAY, rate=Decimal("0.04"))
    big_czk = soft("CZ001", days=50, amount="200000.00", currency="CZK", collector=collector)
    eur = soft("DE001", days=90, amount="5000.00", collector=collector, name="Mühle Vogt")
    small = soft("DE002", days=35, amount="300.00", collector=other_collector)
    swept = soft("DE003", days=61, amount="6500.00", collector=other_collector)
    return {
        "czk": ask(big_czk, collector),  # 8,000.00 EUR
        "eur": ask(eur, collector, to_stage=Stage.LITIGATION),
        "small": ask(small, other_collector),
        "swept": ask(swept, None),
        "bob": ask(soft("DE004", days=45, amount="1000.00"), bob, to_stage=Stage.WRITTEN_OFF),
    }


def test_sorted_by_the_amount_overdue_in_the_reporting_currency(
    client: Client, manager: Any, queue: dict[str, Escalation]
) -> None:
    client.force_login(manager)
    q = queue

    default = ids_on(client.get("/escalations/"))
    by_days = ids_on(client.get("/escalations/", {"sort": "-days"}))
    by_dealer = ids_on(client.get("/escalations/", {"sort": "dealer"}))
    oldest_first = ids_on(client.get("/escalations/", {"sort": "requested"}))

    # 200,000 CZK is 8,000 EUR: more than 6,500 EUR, unconverted it would be first anyway
    # but 5,000 EUR would not come before it by its number.
    assert default == [q["czk"].pk, q["swept"].pk, q["eur"].pk, q["bob"].pk, q["small"].pk]
    assert by_days == [q["eur"].pk, q["swept"].pk, q["czk"].pk, q["bob"].pk, q["small"].pk]
    assert by_dealer == [q["czk"].pk, q["eur"].pk, q["small"].pk, q["swept"].pk, q["bob"].pk]
    assert oldest_first == [q[k].pk for k in ("czk", "eur", "small", "swept", "bob")]
    assert ids_on(client.get("/escalations/", {"sort": "-requested"})) == oldest_first[::-1]


def test_filters_by_stage_requester_collector_and_dealer(
    client: Client, manager: Any, collector: Any, queue: dict[str, Escalation]
) -> None:
    client.force_login(manager)
    q = queue

    def shown(**params: Any) -> set[int]:
        return set(ids_on(client.get("/escalations/", params)))

    assert shown(to_stage="litigation") == {q["eur"].pk}
    assert shown(requested_by="sweep") == {q["swept"].pk}
    assert shown(requested_by="person") == {q[k].pk for k in ("czk", "eur", "small", "bob")}
    assert shown(requested_by=str(collector.pk)) == {q["czk"].pk, q["eur"].pk}
    assert shown(collector=str(collector.pk)) == {q["czk"].pk, q["eur"].pk}
    assert shown(q="mühle") == {q["eur"].pk}
    assert shown(q="de00", requested_by="person", to_stage="hard") == {q["small"].pk}


def test_bad_filters_are_shown_as_errors_never_a_500(
    client: Client, manager: Any, queue: dict[str, Escalation]
) -> None:
    client.force_login(manager)

    response = client.get(
        "/escalations/", {"sort": "'; drop", "to_stage": "current", "page": "x", "collector": "y"}
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"sort", "to_stage", "collector"}
    assert len(ids_on(response)) == 5  # the filters are ignored, the order is the default
    assert "Select a valid choice." in response.content.decode()


def test_status_filter_keeps_its_five_choices(
    client: Client, manager: Any, collector: Any, bob: Any
) -> None:
    pending = ask(soft("S1"), collector)
    approved = ask(soft("S2"), collector)
    rejected = ask(soft("S3"), collector)
    services.approve_escalation(escalation_id=approved.pk, by=bob, today=TODAY, now=NOW)
    services.reject_escalation(escalation_id=rejected.pk, by=bob, note="No", today=TODAY, now=NOW)
    closed = ask(soft("S4"), collector)
    Escalation.objects.filter(pk=closed.pk).update(status="closed", decided_at=NOW)
    client.force_login(manager)

    def shown(status: str | None) -> set[int]:
        return set(
            ids_on(client.get("/escalations/", {} if status is None else {"status": status}))
        )

    assert shown(None) == shown("pending") == {pending.pk}
    assert shown("approved") == {approved.pk}
    assert shown("rejected") == {rejected.pk}
    assert shown("closed") == {closed.pk}
    assert shown("") == {pending.pk, approved.pk, rejected.pk, closed.pk}
    body = client.get("/escalations/", {"status": "approved"}).content.decode()
    assert "by bob" in body
    assert 'name="escalation"' not in body  # nothing to decide there


def test_the_queue_pages_by_fifty_in_the_database(
    client: Client, manager: Any, collector: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    grow_book(60, collector=collector, requester=collector)
    client.force_login(manager)

    first = client.get("/escalations/")
    second = client.get("/escalations/", {"page": "2"})

    assert len(ids_on(first)) == 50
    assert len(ids_on(second)) == 10
    assert not set(ids_on(first)) & set(ids_on(second))
    assert "60 requests, showing 1\u201350" in first.content.decode()


def _page_queries(client: Client, url: str) -> int:
    client.get(url)  # what fills once (the policy, the role, kept figures) is not the page's
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "url",
    [
        "/escalations/",
        "/escalations/?sort=-days&requested_by=person&q=QC&page=1",
        "/escalations/?status=&sort=dealer",
    ],
)
def test_the_page_costs_the_same_queries_for_10_and_200_pending_requests(
    url: str, manager: Any, collector: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    client = Client()
    client.force_login(manager)

    grow_book(10, collector=collector, requester=collector)
    few = _page_queries(client, url)
    grow_book(200, collector=collector, requester=collector)
    many = _page_queries(client, url)

    assert Escalation.objects.filter(status="pending").count() == 200
    assert many == few


def test_the_rows_come_from_one_query(manager: Any, collector: Any) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    grow_book(30, collector=collector, requester=collector)
    client = Client()
    client.force_login(manager)
    client.get("/escalations/")

    with CaptureQueriesContext(connection) as queries:
        client.get("/escalations/")

    selects = [q["sql"] for q in queries if '"dunning_escalation"."reason"' in q["sql"]]
    assert len(selects) == 1
    assert "dunning_stagechange" in selects[0] and "receivables_exchangerate" in selects[0]


# Deciding several at once


def test_a_manager_approves_three_with_one_note(
    client: Client, manager: Any, collector: Any
) -> None:
    requests = [ask(soft(f"A{i}"), collector) for i in range(3)]
    untouched = ask(soft("A9"), collector)
    client.force_login(manager)
    ids = [r.pk for r in requests]

    response = decide(client, ids, "approve", note="Credit hold from today.")

    assert outcomes_after(client, response) == [f"#{pk} approved" for pk in ids]
    for request in requests:
        request.refresh_from_db()
        assert (request.status, request.decided_by, request.decision_note) == (
            "approved",
            manager,
            "Credit hold from today.",
        )
        assert CollectionAccount.objects.get(dealer=request.dealer).stage == Stage.HARD
    untouched.refresh_from_db()
    assert untouched.status == "pending"


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(
    client: Client, manager: Any, collector: Any
) -> None:
    requests = [ask(soft(f"R{i}"), collector) for i in range(2)]
    client.force_login(manager)
    ids = [r.pk for r in requests]

    response = decide(client, ids, "reject", note="   ")

    assert response.status_code == 400
    assert response.context["bulk_form"].errors["note"] == [
        "Say why you reject them: the requester reads the reason."
    ]
    assert all(rows_of(response)[pk].checked for pk in ids)  # the ticks are kept
    assert set(Escalation.objects.values_list("status", flat=True)) == {"pending"}

    response = decide(client, ids, "reject", note="Paid by the harvest money next week.")
    assert outcomes_after(client, response) == [f"#{pk} rejected" for pk in ids]
    assert set(Escalation.objects.values_list("status", flat=True)) == {"rejected"}


def test_each_request_is_decided_on_its_own_and_the_page_says_what_became_of_it(
    client: Client, manager: Any, collector: Any, bob: Any
) -> None:
    fine = ask(soft("M1"), collector)
    mine = ask(soft("M2"), manager)
    rejected = ask(soft("M3"), collector)
    services.reject_escalation(escalation_id=rejected.pk, by=bob, note="No", today=TODAY, now=NOW)
    paid_dealer = soft("M4")
    paid = ask(paid_dealer, collector)
    pay_everything(paid_dealer)
    hidden = ask(soft("M5"), collector)
    client.force_login(manager)

    response = decide(client, [fine.pk, mine.pk, rejected.pk, paid.pk, 999999], "approve")
    texts = outcomes_after(client, response)

    assert texts == [
        f"#{fine.pk} approved",
        f"#{mine.pk} not decided: you requested it",
        f"#{rejected.pk} already rejected by bob",
        f"#{paid.pk} not decided: the move is no longer possible (nothing is past due); "
        "reject it instead",
        "#999999 not decided: there is no such request",
    ]
    statuses = dict(Escalation.objects.values_list("pk", "status"))
    assert statuses == {
        fine.pk: "approved",
        mine.pk: "pending",
        rejected.pk: "rejected",
        paid.pk: "pending",
        hidden.pk: "pending",
    }
    # The refusal of one request undid nothing of the others: the approval stands.
    assert CollectionAccount.objects.get(dealer=fine.dealer).stage == Stage.HARD
    # Read once: the outcomes do not come back on the next visit.
    assert client.get("/escalations/").context["outcomes"] is None


def test_nothing_ticked_is_a_form_error(client: Client, manager: Any, collector: Any) -> None:
    ask(soft("N1"), collector)
    client.force_login(manager)

    response = client.post("/escalations/decide/", {"decision": "approve", "escalation": ["x"]})

    assert response.status_code == 400
    assert "Tick the requests to decide." in response.content.decode()


def test_a_decision_returns_to_the_same_filters(
    client: Client, manager: Any, collector: Any
) -> None:
    request = ask(soft("F1"), collector)
    client.force_login(manager)

    response = decide(client, [request.pk], "approve", query="sort=dealer&to_stage=hard")

    assert response["Location"] == "/escalations/?sort=dealer&to_stage=hard"


# Deciding one from its row


def test_single_row_rejection_without_a_reason_shows_the_error_on_its_row(
    client: Client, manager: Any, collector: Any
) -> None:
    request = ask(soft("ONE1"), collector)
    client.force_login(manager)

    response = client.post(f"/escalations/{request.pk}/reject/", {"note": ""})

    assert response.status_code == 400
    row = rows_of(response)[request.pk]
    assert row.errors == ["Say why you reject them: the requester reads the reason."]
    assert 'aria-invalid="true"' in response.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"

    response = client.post(f"/escalations/{request.pk}/reject/", {"note": "Wait a week"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert (request.status, request.decision_note) == ("rejected", "Wait a week")


def test_single_row_approval_needs_no_note(client: Client, manager: Any, collector: Any) -> None:
    request = ask(soft("ONE2"), collector)
    client.force_login(manager)

    response = client.post(f"/escalations/{request.pk}/approve/", follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Escalation of ONE2 to hard collection approved."
    ]


# Who sees what


@pytest.mark.parametrize("role", ["collector", "auditor", "finance"])
def test_readers_see_no_boxes_and_no_forms(
    role: str, client: Client, collector: Any, request: Any
) -> None:
    user = request.getfixturevalue(role)
    escalation = ask(soft("V1", collector=collector), collector)
    client.force_login(user)

    response = client.get("/escalations/")

    assert ids_on(response) == [escalation.pk]
    body = response.content.decode()
    assert 'type="checkbox"' not in body
    assert "<form" in body  # the filters, a GET form
    assert not re.search(r'<form[^>]+method="post"[^>]*action="/escalations/', body)
    assert ">Approve<" not in body and ">Reject<" not in body and "Reject selected" not in body
    assert "Evidence pack (PDF)" in body


@pytest.mark.parametrize("role", ["collector", "auditor"])
def test_a_reader_posting_decisions_is_refused_and_nothing_changes(
    role: str, client: Client, collector: Any, request: Any
) -> None:
    user = request.getfixturevalue(role)
    escalation = ask(soft("V2", collector=collector), collector)
    client.force_login(user)

    response = decide(client, [escalation.pk], "approve")

    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == "pending"


def test_a_managers_own_request_has_no_box_and_says_why(
    client: Client, manager: Any, collector: Any
) -> None:
    mine = ask(soft("OWN1"), manager)
    theirs = ask(soft("OWN2"), collector)
    client.force_login(manager)

    response = client.get("/escalations/")

    rows = rows_of(response)
    assert (rows[mine.pk].can_decide, rows[theirs.pk].can_decide) == (False, True)
    body = response.content.decode()
    assert f'value="{mine.pk}" form="bulk-decide"' not in body
    assert f'value="{theirs.pk}" form="bulk-decide"' in body
    assert "You requested this: another manager decides it." in body


# The service


def test_decide_escalations_decides_each_once_in_the_order_given(
    manager: Any, collector: Any
) -> None:
    first, second = ask(soft("S1"), collector), ask(soft("S2"), collector)

    outcomes = decide_escalations(
        escalation_ids=[second.pk, first.pk, second.pk],
        approve=False,
        by=manager,
        note="Not now",
        today=TODAY,
        now=NOW,
    )

    assert [(o.escalation_id, o.status) for o in outcomes] == [
        (second.pk, "rejected"),
        (first.pk, "rejected"),
    ]


def test_decide_escalations_refuses_a_rejection_without_a_reason_before_anything(
    manager: Any, collector: Any
) -> None:
    request = ask(soft("S3"), collector)

    with pytest.raises(services.InvalidInput) as refused:
        decide_escalations(
            escalation_ids=[request.pk], approve=False, by=manager, note="", today=TODAY, now=NOW
        )

    assert refused.value.field == "note"
    request.refresh_from_db()
    assert request.status == "pending"


def test_decide_escalations_tells_a_non_manager_per_request(collector: Any) -> None:
    request = ask(soft("S4"), collector)

    [outcome] = decide_escalations(
        escalation_ids=[request.pk], approve=False, by=collector, note="", today=TODAY, now=NOW
    )

    assert outcome.forbidden and not outcome.decided
    assert str(outcome) == f"#{request.pk} not decided: only a collection manager may decide it"
    assert outcome.detail == "Only a collection manager may decide an escalation."

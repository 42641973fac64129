"""Reassigning dealers: the ledger's `reassign_dealers`, the workflow's
`reassign_portfolio` (open tasks follow the dealer), and the manager's page that moves
ticked dealers or every dealer of a filter, confirmed with their number."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionAccount, Stage, Task
from dunning.services.team import reassign_portfolio
from receivables import services as ledger
from receivables.models import Dealer, ExchangeRate
from tests.collection_helpers import NOW, TODAY, overdue_dealer
from tests.factories import DealerFactory, UserFactory
from tests.test_page_query_counts import grow_book

URL = "/team/reassign/"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def moved_to(user: Any, dealers: list[Dealer]) -> bool:
    target = user.pk if user is not None else None
    return all(Dealer.objects.get(pk=dealer.pk).collector_id == target for dealer in dealers)


def task_for(dealer: Dealer, assignee: Any, *, done: bool = False) -> Task:
    return Task.objects.create(
        dealer=dealer,
        assignee=assignee,
        kind=Task.Kind.CALL,
        due_on=TODAY,
        reason="Call about the March order",
        done_at=NOW if done else None,
    )


# The ledger's service


def test_reassign_dealers_moves_only_those_with_another_collector(
    manager: Any, collector: Any, other_collector: Any
) -> None:
    carls = [DealerFactory(collector=collector) for _ in range(3)]
    coras = DealerFactory(collector=other_collector)

    moved = ledger.reassign_dealers(
        dealers=Dealer.objects.all(), collector=other_collector, by=manager, reason="Carl left"
    )

    assert moved == 3
    assert moved_to(other_collector, [*carls, coras])
    # Cora's own dealer was not written: no history row for it.
    assert coras.history.count() == 1
    created, record = carls[0].history.order_by("history_id")
    assert created.collector_id == collector.pk
    assert (record.collector_id, record.history_type) == (other_collector.pk, "~")
    assert record.history_user == manager
    assert record.history_change_reason == "Carl left"


def test_reassign_dealers_to_nobody(manager: Any, collector: Any) -> None:
    dealers = [DealerFactory(collector=collector), DealerFactory(collector=None)]

    moved = ledger.reassign_dealers(
        dealers=Dealer.objects.all(), collector=None, by=manager, reason="Portfolio review"
    )

    assert moved == 1
    assert moved_to(None, dealers)


@pytest.mark.parametrize("who", ["manager", "finance", "inactive", "nobody_in_role"])
def test_reassign_dealers_gives_dealers_only_to_an_active_collector(
    who: str, manager: Any, collector: Any, request: Any
) -> None:
    target = {
        "manager": lambda: manager,
        "finance": lambda: request.getfixturevalue("finance"),
        "inactive": lambda: UserFactory(role="collector", username="gone", is_active=False),
        "nobody_in_role": lambda: UserFactory(username="plain"),
    }[who]()
    dealer = DealerFactory(collector=collector)

    with pytest.raises(ValidationError) as error:
        ledger.reassign_dealers(
            dealers=Dealer.objects.all(), collector=target, by=manager, reason="Why not"
        )

    assert "collector" in error.value.message_dict
    assert moved_to(collector, [dealer])


def test_reassign_dealers_needs_a_reason(manager: Any, collector: Any) -> None:
    dealer = DealerFactory(collector=None)

    with pytest.raises(ValidationError) as error:
        ledger.reassign_dealers(
            dealers=Dealer.objects.all(), collector=collector, by=manager, reason="  "
        )

    assert "reason" in error.value.message_dict
    assert moved_to(None, [dealer])


@pytest.mark.parametrize("role", ["collector", "auditor", "agency_user"])
def test_only_roles_that_change_dealers_reassign_them(
    role: str, manager: Any, collector: Any, request: Any
) -> None:
    user = request.getfixturevalue(role)
    DealerFactory(collector=None)

    with pytest.raises(PermissionDenied):
        ledger.reassign_dealers(
            dealers=Dealer.objects.all(), collector=collector, by=user, reason="Mine now"
        )


def statements_to_reassign(n: int, *, manager: Any, to: Any) -> Counter[str]:
    """The statements a reassignment of `n` new dealers runs, by kind."""
    Dealer.objects.bulk_create([Dealer(code=f"Q{to.pk}-{i:04d}", name="x") for i in range(n)])
    manager.has_perm("receivables.change_dealer")  # the permission cache is not the move's
    with CaptureQueriesContext(connection) as captured:
        moved = ledger.reassign_dealers(
            dealers=Dealer.objects.filter(code__startswith=f"Q{to.pk}-"),
            collector=to,
            by=manager,
            reason="Batch",
        )
    assert moved == n
    return Counter(query["sql"].split()[0] for query in captured.captured_queries)


def test_reassigning_costs_the_same_queries_for_10_and_200_dealers(
    manager: Any, collector: Any, other_collector: Any
) -> None:
    small = statements_to_reassign(10, manager=manager, to=collector)
    large = statements_to_reassign(200, manager=manager, to=other_collector)

    inserts = large.pop("INSERT")
    assert small.pop("INSERT") == 1
    assert large == small
    # The history rows of a chunk go in one INSERT, or in as few as the database's
    # limit of query parameters allows (SQLite: 999, about 39 rows of a dealer's history).
    history_fields = [f.name for f in Dealer.history.model._meta.concrete_fields]
    per_insert = connection.ops.bulk_batch_size(history_fields, [None] * 200)
    assert inserts == math.ceil(200 / per_insert)


def test_a_large_portfolio_moves_in_chunks(manager: Any, collector: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(ledger, "REASSIGN_CHUNK", 7)
    Dealer.objects.bulk_create([Dealer(code=f"C{i:03d}", name="x") for i in range(30)])

    with CaptureQueriesContext(connection) as captured:
        moved = ledger.reassign_dealers(
            dealers=Dealer.objects.all(), collector=collector, by=manager, reason="Chunks"
        )

    assert moved == 30
    assert Dealer.objects.filter(collector=collector).count() == 30
    assert Dealer.history.filter(history_change_reason="Chunks").count() == 30
    # Five chunks of at most 7: a lock, an update and a history insert each.
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 5


# The workflow's wrapper: open tasks follow the dealer


def test_open_tasks_of_the_former_collector_follow_the_dealer(
    manager: Any, collector: Any, other_collector: Any
) -> None:
    dealer = DealerFactory(collector=collector)
    open_task = task_for(dealer, collector)
    done_task = task_for(dealer, collector, done=True)
    managers_review = task_for(dealer, manager)
    elsewhere = task_for(DealerFactory(collector=collector), collector)

    done = reassign_portfolio(
        dealers=Dealer.objects.filter(pk=dealer.pk),
        collector=other_collector,
        by=manager,
        reason="Cora covers the north",
    )

    assert (done.moved, done.tasks_moved) == (1, 1)
    assert done.moved_from == [("carl", 1)]
    for task, assignee in [
        (open_task, other_collector),
        (done_task, collector),
        (managers_review, manager),
        (elsewhere, collector),
    ]:
        task.refresh_from_db()
        assert task.assignee == assignee
    record = open_task.history.first()
    assert record.history_user == manager
    assert record.history_change_reason == "Dealer reassigned: Cora covers the north"


def test_tasks_of_an_unassigned_dealer_go_to_its_new_collector(
    manager: Any, collector: Any
) -> None:
    dealer = DealerFactory(collector=None)
    nobodys = task_for(dealer, None)

    done = reassign_portfolio(
        dealers=Dealer.objects.all(), collector=collector, by=manager, reason="New dealer"
    )

    assert (done.moved, done.tasks_moved, done.moved_from) == (1, 1, [("", 1)])
    nobodys.refresh_from_db()
    assert nobodys.assignee == collector


def test_unassigning_leaves_the_open_tasks_to_nobody(manager: Any, collector: Any) -> None:
    dealer = DealerFactory(collector=collector)
    task = task_for(dealer, collector)

    reassign_portfolio(dealers=Dealer.objects.all(), collector=None, by=manager, reason="Review")

    task.refresh_from_db()
    assert task.assignee is None


def test_finance_may_change_dealers_but_not_move_the_collectors_tasks(
    finance: Any, collector: Any
) -> None:
    DealerFactory(collector=None)

    with pytest.raises(PermissionDenied):
        reassign_portfolio(
            dealers=Dealer.objects.all(), collector=collector, by=finance, reason="Tidy"
        )
    assert not Dealer.objects.filter(collector=collector).exists()


# The page


@pytest.fixture
def book(collector: Any, other_collector: Any) -> dict[str, Dealer]:
    """Carl's three dealers (one Czech, one in soft collection, one paid up), Cora's one,
    and an unassigned one."""
    dealers = {
        "hof": overdue_dealer(code="FEED01", name="Hof Brandt", collector=collector, days=40),
        "agrar": overdue_dealer(
            code="FEED02",
            name="Agrar Novak",
            collector=collector,
            country="CZ",
            currency="CZK",
            amount="25000.00",
        ),
        "paid": DealerFactory(code="FEED03", name="Paid Up Feeds", collector=collector),
        "muehle": overdue_dealer(code="FEED04", name="Mühle Vogt", collector=other_collector),
        "lone": overdue_dealer(code="FEED05", name="Lone Farm Store", collector=None, days=10),
    }
    CollectionAccount.objects.create(dealer=dealers["agrar"], stage=Stage.SOFT)
    return dealers


def codes(response: Any) -> list[str]:
    return [dealer.code for dealer in response.context["dealers"]]


@pytest.mark.parametrize("role", ["collector", "finance", "auditor", "agency_user"])
def test_the_page_is_for_managers_only(role: str, client: Client, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))

    response = client.get(URL)

    assert response.status_code == 403
    assert "The team pages are for collection managers." in response.content.decode()
    assert client.post(URL, {"scope": "filter"}).status_code == 403


def test_the_page_needs_a_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_list_shows_collector_stage_and_overdue(
    client: Client, manager: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.get(URL)

    assert response.status_code == 200
    # Most overdue first: compared as amounts, each in its own currency.
    assert codes(response)[0] == "FEED02"
    body = response.content.decode()
    assert '25,000.00</span> <span class="ccy">CZK' in body
    assert "Soft collection" in body
    assert "soft" not in [s.strip() for s in body.split(">")]  # the label, not the value
    assert "Unassigned" in body
    assert "Move all 5 dealers matching this filter" in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("collector=none", ["FEED05"]),
        ("country=CZ", ["FEED02"]),
        ("currency=EUR&sort=code", ["FEED01", "FEED03", "FEED04", "FEED05"]),
        ("stage=soft", ["FEED02"]),
        ("stage=current&sort=code", ["FEED01", "FEED03", "FEED04", "FEED05"]),
        ("overdue=on&sort=code", ["FEED01", "FEED02", "FEED04", "FEED05"]),
        ("q=hof", ["FEED01"]),
        ("q=feed0&sort=name", ["FEED02", "FEED01", "FEED05", "FEED04", "FEED03"]),
    ],
)
def test_the_list_filters(
    client: Client, manager: Any, book: dict[str, Dealer], query: str, expected: list[str]
) -> None:
    client.force_login(manager)

    response = client.get(f"{URL}?{query}")

    assert codes(response) == expected


def test_filter_by_collector(
    client: Client, manager: Any, collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.get(f"{URL}?collector={collector.pk}&sort=code")

    assert codes(response) == ["FEED01", "FEED02", "FEED03"]


def test_an_unknown_filter_value_is_shown_as_an_error(
    client: Client, manager: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.get(f"{URL}?collector=99999")

    assert response.status_code == 200
    assert response.context["filter_form"].errors["collector"]
    assert len(codes(response)) == 5


def test_the_list_paginates(client: Client, manager: Any) -> None:
    Dealer.objects.bulk_create([Dealer(code=f"P{i:03d}", name=f"D {i}") for i in range(60)])
    client.force_login(manager)

    first = client.get(URL)
    second = client.get(f"{URL}?page=2")

    assert len(first.context["dealers"]) == 50
    assert len(second.context["dealers"]) == 10
    assert "Move all 60 dealers matching this filter" in first.content.decode()


def test_manager_moves_the_ticked_dealers(
    client: Client, manager: Any, collector: Any, other_collector: Any, book: dict[str, Dealer]
) -> None:
    task = task_for(book["hof"], collector)
    client.force_login(manager)

    response = client.post(
        f"{URL}?sort=code",
        {
            "scope": "selected",
            "dealer": [book["hof"].pk, book["paid"].pk],
            "collector": other_collector.pk,
            "reason": "Carl is on leave",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == f"{URL}?sort=code"
    assert "2 dealers moved from carl to cora. 1 open task went with them." in [
        str(m) for m in response.context["messages"]
    ]
    assert moved_to(other_collector, [book["hof"], book["paid"]])
    assert moved_to(collector, [book["agrar"]])
    task.refresh_from_db()
    assert task.assignee == other_collector


def test_moving_by_filter_asks_to_confirm_the_number(
    client: Client, manager: Any, collector: Any, other_collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)
    url = f"{URL}?collector={collector.pk}"
    data = {"scope": "filter", "collector": other_collector.pk, "reason": "Carl left us"}

    asked = client.post(url, data)

    assert asked.status_code == 200
    assert "Move all 3 dealers to cora?" in asked.content.decode()
    assert moved_to(collector, [book["hof"], book["agrar"], book["paid"]])

    done = client.post(url, {**data, "expected": "3"}, follow=True)

    assert "3 dealers moved from carl to cora." in [str(m) for m in done.context["messages"]]
    assert moved_to(other_collector, [book["hof"], book["agrar"], book["paid"]])
    assert moved_to(None, [book["lone"]])


def test_a_filter_on_the_figures_and_the_stage_moves_only_its_dealers(
    client: Client, manager: Any, collector: Any, other_collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)
    url = f"{URL}?collector={collector.pk}&overdue=on&stage=current"

    response = client.post(
        url,
        {"scope": "filter", "collector": other_collector.pk, "reason": "x", "expected": "1"},
        follow=True,
    )

    assert "1 dealer moved from carl to cora." in [str(m) for m in response.context["messages"]]
    assert moved_to(other_collector, [book["hof"]])
    assert moved_to(collector, [book["agrar"], book["paid"]])


def test_a_changed_number_is_confirmed_again(
    client: Client, manager: Any, collector: Any, other_collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)
    DealerFactory(code="FEED06", collector=collector)  # arrived after the list was shown

    response = client.post(
        f"{URL}?collector={collector.pk}",
        {"scope": "filter", "collector": other_collector.pk, "reason": "x", "expected": "3"},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "changed from 3 to 4" in body
    assert "Yes, move all 4 dealers" in body
    assert not Dealer.objects.filter(collector=other_collector).exclude(code="FEED04").exists()


def test_unassigned_dealers_go_to_a_collector_by_filter(
    client: Client, manager: Any, collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.post(
        f"{URL}?collector=none",
        {"scope": "filter", "collector": collector.pk, "reason": "New area", "expected": "1"},
        follow=True,
    )

    assert "1 dealer moved from unassigned to carl." in [
        str(m) for m in response.context["messages"]
    ]
    assert moved_to(collector, [book["lone"]])


def test_dealers_moved_to_nobody(client: Client, manager: Any, book: dict[str, Dealer]) -> None:
    client.force_login(manager)

    response = client.post(
        URL,
        {"scope": "selected", "dealer": [book["muehle"].pk], "collector": "none", "reason": "x"},
        follow=True,
    )

    assert "1 dealer moved from cora to nobody (unassigned)." in [
        str(m) for m in response.context["messages"]
    ]
    assert moved_to(None, [book["muehle"]])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"scope": "selected", "reason": "x"}, "collector"),
        ({"scope": "selected", "collector": "TARGET"}, "reason"),
        ({"scope": "selected", "collector": "TARGET", "reason": "   "}, "reason"),
        ({"scope": "selected", "collector": "99999", "reason": "x"}, "collector"),
        ({"scope": "selected", "collector": "INACTIVE", "reason": "x"}, "collector"),
        ({"scope": "selected", "collector": "TARGET", "reason": "x", "dealer": []}, None),
        ({"scope": "sideways", "collector": "TARGET", "reason": "x"}, "scope"),
        ({"scope": "filter", "collector": "TARGET", "reason": "x", "expected": "many"}, "expected"),
    ],
)
def test_bad_input_is_a_form_error_and_moves_nothing(
    client: Client,
    manager: Any,
    other_collector: Any,
    book: dict[str, Dealer],
    data: dict[str, Any],
    field: str | None,
) -> None:
    inactive = UserFactory(role="collector", username="gone", is_active=False)
    values = {"TARGET": str(other_collector.pk), "INACTIVE": str(inactive.pk)}
    posted = {key: values.get(value, value) for key, value in data.items() if key != "dealer"}
    posted["dealer"] = data.get("dealer", [book["hof"].pk])
    client.force_login(manager)
    before = list(Dealer.objects.order_by("pk").values_list("collector_id", flat=True))

    response = client.post(URL, posted)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors[field or "__all__"]
    assert list(Dealer.objects.order_by("pk").values_list("collector_id", flat=True)) == before


def test_moving_by_an_empty_filter_is_refused(
    client: Client, manager: Any, collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.post(
        f"{URL}?q=nothing-like-this",
        {"scope": "filter", "collector": collector.pk, "reason": "x", "expected": "0"},
    )

    assert response.status_code == 400
    assert "No dealer matches this filter" in response.content.decode()


def test_moving_to_the_same_collector_says_nothing_moved(
    client: Client, manager: Any, collector: Any, book: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.post(
        URL,
        {"scope": "selected", "dealer": [book["hof"].pk], "collector": collector.pk, "reason": "x"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "No dealer moved: they already belong to carl."
    ]
    assert book["hof"].history.count() == 1


# Query counts


def page_queries(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_page_costs_the_same_queries_for_10_and_200_dealers(
    client: Client, manager: Any, collector: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    client.force_login(manager)
    urls = [
        URL,
        f"{URL}?page=2",
        f"{URL}?collector={collector.pk}&stage=soft&overdue=on&sort=collector",
        f"{URL}?collector=none&country=CZ&currency=CZK&q=QC",
    ]

    grow_book(10, collector=collector, requester=collector)
    small = {url: page_queries(client, url) for url in urls}
    grow_book(200, collector=collector, requester=collector)
    large = {url: page_queries(client, url) for url in urls}

    assert Dealer.objects.count() == 200
    assert large == small

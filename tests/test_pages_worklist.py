"""The worklist: scoping, priority order with its explanation, call permission, promises
due today, open tasks, the managers' collector filter, and a constant query count."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dunning.models import ContactLog, Promise, Task
from tests.factories import DealerFactory, OrderFactory

TODAY = dt.date(2026, 3, 16)  # a Monday
NOW = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(NOW, tick=False)


def overdue_dealer(days_late: int, amount: str = "1000.00", **dealer_fields):
    dealer = DealerFactory(**dealer_fields)
    due_on = TODAY - dt.timedelta(days=days_late)
    OrderFactory(
        dealer=dealer,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )
    return dealer


def codes_in(response) -> list[str]:
    return [row.dealer.code for row in response.context["work"].rows]


def test_worklist_needs_login(client):
    response = client.get("/worklist/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_collector_sees_only_own_overdue_dealers(client, collector, other_collector):
    overdue_dealer(10, code="MINE", collector=collector)
    overdue_dealer(10, code="THEIRS", collector=other_collector)
    DealerFactory(code="PAIDUP", collector=collector)
    client.force_login(collector)
    response = client.get("/worklist/")
    assert response.status_code == 200
    assert codes_in(response) == ["MINE"]
    assert "THEIRS" not in response.content.decode()


def test_dealers_are_ordered_by_priority_with_the_parts_explained(client, collector):
    overdue_dealer(5, "100.00", code="SMALL", collector=collector)
    overdue_dealer(120, "40000.00", code="BIG", collector=collector)
    client.force_login(collector)
    response = client.get("/worklist/")
    assert codes_in(response) == ["BIG", "SMALL"]
    body = response.content.decode()
    assert "Why first?" in body
    assert "Amount overdue" in body
    assert "Age" in body
    first = response.context["work"].rows[0]
    assert first.risk == "quasi_bad"
    assert first.priority.score > response.context["work"].rows[1].priority.score


def test_promise_due_today_is_marked_and_raises_priority(client, collector):
    plain = overdue_dealer(20, code="PLAIN", collector=collector)
    promised = overdue_dealer(20, code="PROMISED", collector=collector)
    Promise.objects.create(
        dealer=promised,
        amount=Decimal("250.00"),
        requested_due_on=TODAY,
        due_on=TODAY,
        made_on=TODAY - dt.timedelta(days=3),
    )
    client.force_login(collector)
    response = client.get("/worklist/")
    assert codes_in(response) == ["PROMISED", "PLAIN"]
    assert "Promise due today: 250.00" in response.content.decode()
    assert plain.code in response.content.decode()


def test_dealer_called_today_may_not_be_called_before_tomorrow(client, collector):
    dealer = overdue_dealer(10, code="CALLED", collector=collector)
    ContactLog.objects.create(
        dealer=dealer,
        channel=ContactLog.Channel.PHONE,
        at=NOW - dt.timedelta(hours=1),
        outcome=ContactLog.Outcome.NO_ANSWER,
    )
    overdue_dealer(10, code="FRESH", collector=collector)
    client.force_login(collector)
    response = client.get("/worklist/")
    rows = {row.dealer.code: row for row in response.context["work"].rows}
    assert rows["FRESH"].call.allowed
    assert not rows["CALLED"].call.allowed
    assert rows["CALLED"].call_text == "not before Tue 08:00 (at most 1 call a day)"
    assert "not before Tue 08:00 (at most 1 call a day)" in response.content.decode()
    assert "Call now" in response.content.decode()


def test_quiet_hours_say_when_the_dealer_may_be_called(client, collector, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 16, 5, 30, tzinfo=dt.UTC), tick=False)
    overdue_dealer(10, code="EARLY", collector=collector)
    client.force_login(collector)
    response = client.get("/worklist/")
    assert "not before Mon 08:00 (no calls before 08:00)" in response.content.decode()


def test_suggested_window_and_open_tasks_are_shown(client, collector):
    dealer = overdue_dealer(10, code="TASKED", collector=collector)
    Task.objects.create(
        dealer=dealer,
        assignee=collector,
        kind=Task.Kind.CALL,
        due_on=TODAY,
        window_from=dt.time(15, 0),
        window_to=dt.time(17, 0),
        reason="Promise broken: follow up",
    )
    Task.objects.create(
        dealer=dealer,
        assignee=collector,
        kind=Task.Kind.VISIT,
        due_on=TODAY,
        reason="Done already",
        done_at=NOW,
    )
    client.force_login(collector)
    body = client.get("/worklist/").content.decode()
    assert "15:00\u201317:00" in body
    assert "Promise broken: follow up" in body
    assert "Done already" not in body


def test_manager_sees_all_and_filters_by_collector(client, manager, collector, other_collector):
    overdue_dealer(10, code="CARLS", collector=collector)
    overdue_dealer(10, code="CORAS", collector=other_collector)
    client.force_login(manager)
    assert sorted(codes_in(client.get("/worklist/"))) == ["CARLS", "CORAS"]
    response = client.get("/worklist/", {"collector": other_collector.pk})
    assert codes_in(response) == ["CORAS"]
    assert 'name="collector"' in response.content.decode()


def test_collector_gets_no_collector_filter(client, collector, other_collector):
    overdue_dealer(10, code="CARLS", collector=collector)
    client.force_login(collector)
    response = client.get("/worklist/", {"collector": other_collector.pk})
    assert codes_in(response) == ["CARLS"]
    assert 'name="collector"' not in response.content.decode()


def test_worklist_is_paginated(client, collector):
    for days in range(1, 28):
        overdue_dealer(days, collector=collector)
    client.force_login(collector)
    first = client.get("/worklist/")
    assert len(codes_in(first)) == 25
    second = client.get("/worklist/", {"page": 2})
    assert len(codes_in(second)) == 2
    assert not set(codes_in(first)) & set(codes_in(second))


def test_htmx_request_gets_only_the_rows(client, manager, collector):
    overdue_dealer(10, code="CARLS", collector=collector)
    client.force_login(manager)
    response = client.get("/worklist/", {"collector": collector.pk}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "CARLS" in body
    assert "<html" not in body


def _queries_for_worklist(client, user, dealers: int) -> int:
    for days in range(dealers):
        dealer = overdue_dealer(days + 1, collector=user)
        Promise.objects.create(
            dealer=dealer,
            amount=Decimal("10.00"),
            requested_due_on=TODAY,
            due_on=TODAY,
            made_on=TODAY,
        )
        Task.objects.create(
            dealer=dealer, assignee=user, kind=Task.Kind.CALL, due_on=TODAY, reason="Call"
        )
        ContactLog.objects.create(
            dealer=dealer,
            channel=ContactLog.Channel.PHONE,
            at=NOW - dt.timedelta(days=1),
            outcome=ContactLog.Outcome.REACHED,
        )
    client.force_login(user)
    client.get("/worklist/")  # creates the default policy and the session once
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/worklist/")
    assert response.status_code == 200
    assert len(response.context["work"].rows) == min(dealers, 25)
    return len(queries)


def test_worklist_query_count_does_not_grow_with_dealers(client, collector, other_collector):
    few = _queries_for_worklist(client, collector, 3)
    many = _queries_for_worklist(client, other_collector, 30)
    assert few == many


@pytest.mark.parametrize("dealers", [3, 30])
def test_worklist_costs_the_same_queries_for_3_and_30_dealers(
    client, manager, collector, django_assert_num_queries, dealers
):
    for days in range(dealers):
        overdue_dealer(days + 1, collector=collector)
    client.force_login(manager)
    client.get("/worklist/")
    # Session, user, groups, the collector choices, the policy, the kept figures that no
    # longer hold (none here), the dealers counted per currency, the page of them sorted
    # by priority in SQL (no rate to read: euros only), then the calls, promises,
    # tasks and order days (the rhythm of reorders) of the page shown. (The navigation
    # reads the role from the groups above.)
    with django_assert_num_queries(12):
        client.get("/worklist/")

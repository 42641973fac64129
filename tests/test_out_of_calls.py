"""Dealers with lawyers, placed with an agency or written off are not called (issue 10,
part C): the worklist does not offer them, the daily sweep makes them no call task, and
they have their own list on the worklist page (`?list=out_of_calls`), paginated, with
stage, since when, agency and amount, at a cost that does not grow with the book."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionAccount, Promise, Stage, Task
from dunning.models.stages import NOT_CALLED_STAGES
from dunning.sweep import run_sweep
from dunning.worklist import ROWS_PER_PAGE, build_out_of_calls, build_worklist
from receivables.models import Agency, Dealer, ExchangeRate
from tests.collection_helpers import NOW, TODAY, overdue_dealer
from tests.sweep_helpers import D, promise
from tests.sweep_helpers import overdue_dealer as sweep_dealer
from tests.test_page_query_counts import grow_book

pytestmark = pytest.mark.django_db

OUT_OF_CALLS = "/worklist/?list=out_of_calls"


@pytest.fixture(autouse=True)
def business_day(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def in_stage(dealer: Dealer, stage: str, since: dt.date | None = None) -> Dealer:
    CollectionAccount.objects.create(dealer=dealer, stage=stage, stage_since=since)
    return dealer


def test_the_not_called_stages_are_litigation_agency_and_written_off() -> None:
    assert set(NOT_CALLED_STAGES) == {Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF}


@pytest.mark.parametrize("stage", NOT_CALLED_STAGES)
def test_the_sweep_makes_no_call_task_for_a_broken_promise_out_of_calls(
    stage: str, collector: Any
) -> None:
    called = sweep_dealer(
        today=D(2026, 3, 10), days=200, stage=Stage.SOFT, collector=collector, code="CALLED"
    )
    not_called = sweep_dealer(
        today=D(2026, 3, 10), days=200, stage=stage, collector=collector, code="NOTCALLED"
    )
    for dealer in (called, not_called):
        promise(dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    run_sweep(today=D(2026, 3, 10), batch_size=10**9)

    # Both promises are decided as broken; only the dealer still called gets a call.
    assert set(Promise.objects.values_list("status", flat=True)) == {Promise.Status.BROKEN}
    assert [(t.dealer.code, t.kind) for t in Task.objects.select_related("dealer")] == [
        ("CALLED", Task.Kind.CALL)
    ]


def test_the_worklist_does_not_offer_them_and_the_other_list_shows_them(
    client: Client, collector: Any
) -> None:
    agency = Agency.objects.create(name="Inkasso Nord")
    in_stage(overdue_dealer(days=40, code="SOFT1", collector=collector), Stage.SOFT)
    in_stage(
        overdue_dealer(days=300, code="LAW1", collector=collector),
        Stage.LITIGATION,
        D(2026, 1, 12),
    )
    in_stage(
        overdue_dealer(days=200, code="AGY1", amount="2500.00", collector=collector, agency=agency),
        Stage.AGENCY,
        D(2026, 2, 3),
    )
    in_stage(overdue_dealer(days=900, code="OFF1", collector=collector), Stage.WRITTEN_OFF)
    client.force_login(collector)

    calls = client.get("/worklist/")
    assert [row.dealer.code for row in calls.context["work"].rows] == ["SOFT1"]

    other = client.get(OUT_OF_CALLS)
    assert other.status_code == 200
    rows = {row.dealer.code: row for row in other.context["work"].rows}
    assert set(rows) == {"LAW1", "AGY1", "OFF1"}
    assert (rows["AGY1"].stage, rows["AGY1"].stage_since, rows["AGY1"].balance) == (
        Stage.AGENCY,
        D(2026, 2, 3),
        Decimal("2500.00"),
    )
    page = other.content.decode()
    assert "With lawyers, agencies or written off" in page
    assert "Inkasso Nord" in page
    assert "Placed with agency" in page and "Written off" in page
    assert "2,500.00" in page
    # Latest move first, the one without a date last.
    assert [row.dealer.code for row in other.context["work"].rows] == ["AGY1", "LAW1", "OFF1"]


def test_the_other_list_is_scoped_to_what_the_user_sees(
    client: Client, collector: Any, other_collector: Any
) -> None:
    in_stage(overdue_dealer(days=300, code="MINE", collector=collector), Stage.LITIGATION)
    in_stage(overdue_dealer(days=300, code="THEIRS", collector=other_collector), Stage.LITIGATION)

    work = build_out_of_calls(collector, today=TODAY)

    assert [row.dealer.code for row in work.rows] == ["MINE"]


def test_the_other_list_paginates(collector: Any) -> None:
    for n in range(ROWS_PER_PAGE + 3):
        in_stage(overdue_dealer(days=300, code=f"L{n:03d}", collector=collector), Stage.AGENCY)

    first = build_out_of_calls(collector, today=TODAY)
    second = build_out_of_calls(collector, today=TODAY, page_number=2)

    assert (first.total, len(first.rows), len(second.rows)) == (
        ROWS_PER_PAGE + 3,
        ROWS_PER_PAGE,
        3,
    )
    assert not {r.dealer.pk for r in first.rows} & {r.dealer.pk for r in second.rows}


def test_the_call_list_skips_them_in_the_builder_too(collector: Any) -> None:
    in_stage(overdue_dealer(days=300, code="LAW1", collector=collector), Stage.LITIGATION)
    overdue_dealer(days=10, code="FRESH", collector=collector)  # no account yet: called

    work = build_worklist(collector, today=TODAY, now=NOW)

    assert [row.dealer.code for row in work.rows] == ["FRESH"]
    assert work.total == 1


def _queries(client: Client, url: str) -> int:
    client.get(url)  # caches that fill once (the policy row, the role) are not the page's
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("role", ["manager", "collector"])
def test_both_lists_cost_the_same_queries_for_10_and_200_dealers(
    role: str, collector: Any, request: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    client = Client()
    client.force_login(request.getfixturevalue(role))
    urls = ["/worklist/", "/worklist/?page=2", OUT_OF_CALLS, OUT_OF_CALLS + "&page=2"]

    def grow(to: int) -> dict[str, int]:
        grow_book(to, collector=collector, requester=collector)
        # Every third dealer with lawyers, an agency or written off.
        for n, account in enumerate(CollectionAccount.objects.order_by("dealer__code")):
            account_stage = NOT_CALLED_STAGES[(n // 3) % 3] if n % 3 == 0 else Stage.SOFT
            CollectionAccount.objects.filter(pk=account.pk).update(
                stage=account_stage, stage_since=TODAY - dt.timedelta(days=n)
            )
        return {url: _queries(client, url) for url in urls}

    small = grow(10)
    large = grow(200)

    assert Dealer.objects.count() == 200
    assert large == small
    work = build_out_of_calls(request.getfixturevalue(role), today=TODAY)
    assert work.total == 67 and len(work.rows) == ROWS_PER_PAGE


# --- Every place a dealer appears leads to its collection page, except for agencies --------


@pytest.mark.parametrize("url", ["/", "/dealers/", "/dealers/LAW1/"])
def test_the_collection_page_is_a_click_away_but_not_for_an_agency(
    client: Client, collector: Any, agency_user: Any, url: str
) -> None:
    agency = Agency.objects.get(users=agency_user)
    in_stage(
        overdue_dealer(days=300, code="LAW1", collector=collector, agency=agency), Stage.AGENCY
    )
    link = 'href="/dealers/LAW1/collection/"'

    client.force_login(collector)
    assert link in client.get(url).content.decode()

    client.force_login(agency_user)
    response = client.get(url)
    assert response.status_code == 200
    assert link not in response.content.decode()

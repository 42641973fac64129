"""Every page and report costs the same number of queries for a book of 10 dealers and
for one of 200: nothing is fetched per visible dealer or per order. Each dealer has an
overdue order, a paid one, a payment, an account in collection, a promise, a task, an
alert and an escalation, so that every list on every page has rows to show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import Alert, CollectionAccount, Escalation, Letter, Promise, Stage, Task
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer, ExchangeRate, Order, Payment
from tests.collection_helpers import NOW, TODAY

# Pages every role with a portfolio opens, with the dealer's pages for the first dealer.
PAGES = [
    "/",
    "/worklist/",
    "/worklist/?page=2",
    "/dealers/",
    "/dealers/?sort=oldest&page=2",
    "/dealers/?q=QC00&age=91-180&overdue=on",
    "/reports/aging/",
    "/reports/aging/?as_of=2025-03-02",
    "/dealers/QC0001/",
    "/dealers/QC0001/collection/",
    "/escalations/?status=",
    "/tasks/",
    "/api/v1/dealers/QC0001",
    "/api/v1/dealers/QC0001/credit-status",
    "/api/v1/dealers/QC0001/promises",
    "/api/v1/dealers/QC0001/timeline",
    "/api/v1/escalations",
    "/api/v1/reports/aging",
    "/api/v1/reports/aging?as_of=2025-03-02",
    "/api/v1/reports/kpis?from=2025-12-01&to=2026-02-28",
    "/api/v1/rates",
    "/api/v1/letters",
    "/api/v1/reports/allowance",
    "/api/v1/reports/forecast",
]
# The manager's desks and finance's (managers may do finance's work too).
MANAGER_ONLY = [
    "/alerts/",
    "/alerts/?show=all",
    "/desk/",
    "/escalations/?sort=-overdue&requested_by=person",
    "/team/reassign/",
    "/team/reassign/?overdue=on&sort=code&page=2",
    "/team/policy/",
    "/team/excuses/",
    "/team/credit-overrides/",
    "/finance/",
    "/finance/import/",
    "/finance/payments/",
    "/finance/payments/new/",
]


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def grow_book(to: int, *, collector: Any, requester: Any) -> None:
    """Add dealers QC0001.. until there are `to`, in bulk, each with its whole story."""
    start = Dealer.objects.count() + 1
    numbers = range(start, to + 1)
    currencies = ["EUR", "CZK"]
    dealers = Dealer.objects.bulk_create(
        [
            Dealer(
                code=f"QC{n:04d}",
                name=f"Dealer {n}",
                country="CZ" if n % 2 else "DE",
                currency=currencies[n % 2],
                collector=collector,
                credit_limit=Decimal("5000.00"),
            )
            for n in numbers
        ]
    )
    orders = []
    for dealer in dealers:
        for k, days in enumerate((120, 45, 10)):
            due_on = TODAY - dt.timedelta(days=days)
            orders.append(
                Order(
                    number=f"{dealer.code}-{k}",
                    dealer=dealer,
                    ordered_on=due_on - dt.timedelta(days=30),
                    due_on=due_on,
                    amount=Decimal("1000.00"),
                )
            )
    Order.objects.bulk_create(orders)
    Payment.objects.bulk_create(
        [
            Payment(
                reference=f"{dealer.code}-P",
                dealer=dealer,
                received_on=TODAY - dt.timedelta(days=100),
                amount=Decimal("1000.00"),
            )
            for dealer in dealers
        ]
    )
    reallocate_dealers([dealer.pk for dealer in dealers])
    CollectionAccount.objects.bulk_create(
        [
            CollectionAccount(dealer=dealer, stage=Stage.SOFT, cycle_started_on=TODAY)
            for dealer in dealers
        ]
    )
    Promise.objects.bulk_create(
        [
            Promise(
                dealer=dealer,
                amount=Decimal("100.00"),
                requested_due_on=TODAY,
                due_on=TODAY,
                made_on=TODAY - dt.timedelta(days=3),
            )
            for dealer in dealers
        ]
    )
    Task.objects.bulk_create(
        [
            Task(dealer=dealer, assignee=collector, kind=Task.Kind.CALL, due_on=TODAY, reason="x")
            for dealer in dealers
        ]
    )
    Alert.objects.bulk_create(
        [Alert(dealer=dealer, kind=Alert.Kind.ESCALATION, message="x") for dealer in dealers]
    )
    Letter.objects.bulk_create(
        [
            Letter(dealer=dealer, kind=Letter.Kind.REMINDER, level=1, issued_on=TODAY)
            for dealer in dealers
        ]
    )
    Escalation.objects.bulk_create(
        [
            Escalation(
                dealer=dealer,
                to_stage=Stage.HARD,
                reason="60 days",
                requested_by=requester,
                requested_on=TODAY,
            )
            for dealer in dealers
        ]
    )


def queries_of(client: Client, url: str) -> int:
    client.get(url)  # caches that fill once (the policy row, the role) are not the page's
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.fixture
def book(collector: Any) -> Callable[[int], None]:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))

    def grow(to: int) -> None:
        grow_book(to, collector=collector, requester=collector)

    return grow


@pytest.mark.parametrize("role", ["manager", "collector"])
def test_every_page_costs_the_same_queries_for_10_and_200_dealers(
    role: str, book: Callable[[int], None], request: Any
) -> None:
    user = request.getfixturevalue(role)
    client = Client()
    client.force_login(user)
    pages = PAGES + (MANAGER_ONLY if role == "manager" else [])

    book(10)
    small = {url: queries_of(client, url) for url in pages}
    book(200)
    large = {url: queries_of(client, url) for url in pages}

    assert Dealer.objects.count() == 200
    assert large == small

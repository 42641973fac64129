"""A dealer's change history for the auditor: who may read it, what a change says
(field labels and choice labels, old -> new, who and why), the filters, pagination, the
CSV export, and a query count that does not grow with the changes."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionAccount, Letter, Promise, Stage, StageChange, Task
from dunning.services.common import stamp
from receivables.allocation import reallocate_dealers
from receivables.models import Contact, Dealer, Order
from tests.collection_helpers import TODAY, overdue_dealer
from tests.factories import ContactFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def _history_of(client: Client, dealer: Dealer, query: str = "") -> Any:
    return client.get(f"/dealers/{dealer.code}/history/{query}")


def _rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def story(manager: Any) -> Dealer:
    """A dealer with a contact corrected by the manager, an order, a payment allocated
    to it, an account moved to soft collection and a promise."""
    dealer = overdue_dealer(code="HIST1", name="Hof Feed")
    contact = ContactFactory(dealer=dealer, name="Anna Berg", role=Contact.Role.OWNER)
    contact.role = Contact.Role.CONTROLLER
    stamp(contact, by=manager, reason="Corrected after the call")
    contact.save()
    PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("250.00"))
    reallocate_dealers([dealer.pk])
    account = CollectionAccount.objects.create(dealer=dealer, stage=Stage.SOFT)
    StageChange.objects.create(
        dealer=dealer,
        from_stage=Stage.REMINDER,
        to_stage=Stage.SOFT,
        on=TODAY,
        by=manager,
        reason="No answer to the reminder",
    )
    account.default_cause = CollectionAccount.Cause.TIGHT_FUNDS
    stamp(account, by=manager, reason="Harvest came late")
    account.save()
    Promise.objects.create(
        dealer=dealer,
        amount=Decimal("300.00"),
        requested_due_on=TODAY + dt.timedelta(days=3),
        due_on=TODAY + dt.timedelta(days=3),
        made_on=TODAY,
        made_by=manager,
    )
    return dealer


@pytest.mark.parametrize("role", ["auditor", "manager", "finance"])
def test_readers_see_the_history(client: Client, story: Dealer, role: str, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))
    response = _history_of(client, story)
    assert response.status_code == 200
    page = response.content.decode()
    # Who, what (field label, choice labels old -> new) and why.
    assert "Corrected after the call" in page
    assert "mona" in page
    assert "Business owner" in page
    assert "Financial controller" in page
    assert "Default cause" in page and "Tight funds" in page
    assert "Harvest came late" in page
    assert "No answer to the reminder" in page
    # Internal names never show: choice labels do.
    assert "tight_funds" not in page
    assert "Soft collection" in page or str(Stage.SOFT.label) in page
    kinds = {entry.kind for entry in response.context["entries"]}
    assert {"dealer", "orders", "payments", "account", "promises"} <= kinds


@pytest.mark.parametrize("role", ["collector", "agency_user"])
def test_collectors_and_agencies_are_refused(
    client: Client, story: Dealer, role: str, request: Any
) -> None:
    user = request.getfixturevalue(role)
    story.collector = user if role == "collector" else None
    story.save()
    client.force_login(user)
    assert _history_of(client, story).status_code == 403
    assert client.get(f"/dealers/{story.code}/history.csv").status_code == 403


def test_anonymous_goes_to_the_login(client: Client, story: Dealer) -> None:
    response = _history_of(client, story)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_unknown_dealer_is_404(client: Client, auditor: Any) -> None:
    client.force_login(auditor)
    assert client.get("/dealers/NOPE/history/").status_code == 404


def test_newest_first_with_old_and_new_values(client: Client, auditor: Any, manager: Any) -> None:
    dealer = overdue_dealer(code="HIST2")
    order = dealer.orders.get()
    order.amount = Decimal("1200.00")
    stamp(order, by=manager, reason="Price list error")
    order.save()
    client.force_login(auditor)
    entries = _history_of(client, dealer, "?kind=orders").context["entries"]
    newest = entries[0]
    assert newest.object_label == f"Order {order.number}"
    assert newest.who == "mona"
    assert newest.reason == "Price list error"
    assert [(c.field, c.old, c.new) for c in newest.changes] == [("Amount", "1000.00", "1200.00")]
    assert entries[-1].action == "Created"
    assert [e.when for e in entries] == sorted((e.when for e in entries), reverse=True)


def test_filter_by_kind(client: Client, auditor: Any, story: Dealer) -> None:
    client.force_login(auditor)
    response = _history_of(client, story, "?kind=payments")
    assert response.status_code == 200
    entries = response.context["entries"]
    assert entries
    assert {entry.kind for entry in entries} == {"payments"}
    assert {entry.object_label.split()[0] for entry in entries} == {"Payment", "Allocation"}


def test_filter_by_dates(client: Client, auditor: Any, story: Dealer) -> None:
    client.force_login(auditor)
    today = dt.date.today()
    assert _history_of(client, story, f"?since={today}&until={today}").context["entries"]
    later = today + dt.timedelta(days=2)
    response = _history_of(client, story, f"?since={later}")
    assert response.context["entries"] == []
    assert "No changes match." in response.content.decode()


@pytest.mark.parametrize(
    "query", ["?since=yesterday", "?kind=bogus", "?since=2026-03-05&until=2026-03-01"]
)
def test_bad_filters_are_form_errors(
    client: Client, auditor: Any, story: Dealer, query: str
) -> None:
    client.force_login(auditor)
    response = _history_of(client, story, query)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert client.get(f"/dealers/{story.code}/history.csv{query}").status_code == 400


def test_secret_reply_token_never_shows(client: Client, auditor: Any) -> None:
    dealer = overdue_dealer(code="HIST3")
    Letter.objects.create(
        dealer=dealer,
        kind=Letter.Kind.RECONCILIATION,
        issued_on=TODAY,
        cycle_started_on=TODAY,
        reply_token="s3cret-token-value",
    )
    client.force_login(auditor)
    page = _history_of(client, dealer, "?kind=letters").content.decode()
    assert "Reconciliation" in page
    assert "s3cret-token-value" not in page
    rows = _rows(client.get(f"/dealers/{dealer.code}/history.csv"))
    assert not any("s3cret-token-value" in cell for row in rows for cell in row)


def _many_changes(dealer: Dealer, count: int, by: Any) -> None:
    order = dealer.orders.first()
    assert order is not None
    for n in range(count):
        order.disputed = n % 2 == 0
        order.dispute_reason = f"Bag count {n}"
        stamp(order, by=by, reason=f"Call {n}")
        order.save()


def test_pages_of_fifty(client: Client, auditor: Any, manager: Any) -> None:
    dealer = overdue_dealer(code="HIST4")
    _many_changes(dealer, 60, manager)
    client.force_login(auditor)
    first = _history_of(client, dealer)
    assert len(first.context["entries"]) == 50
    assert first.context["page"].paginator.count == 61 + dealer.history.count()
    second = _history_of(client, dealer, "?page=2")
    assert len(second.context["entries"]) == first.context["page"].paginator.count - 50
    assert 'rel="next"' in first.content.decode()


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(captured)


def _rounds(dealer: Dealer, count: int, by: Any) -> None:
    """`count` rounds of changes, each touching the dealer, a contact, an order, the
    account, a promise and a task, so that any page of 50 holds all six tables."""
    contact = dealer.contacts.get()
    order = dealer.orders.get()
    account = dealer.account
    promise = dealer.promises.get()
    task = dealer.tasks.get()
    for n in range(count):
        for row, field, value in [
            (dealer, "phone", f"+49 30 {n}"),
            (contact, "phone", f"+49 40 {n}"),
            (order, "dispute_reason", f"Bag count {n}"),
            (account, "credit_hold_override_reason", f"Round {n}"),
            (promise, "note", f"Call {n}"),
            (task, "outcome", f"Outcome {n}"),
        ]:
            setattr(row, field, value)
            stamp(row, by=by, reason=f"Round {n}")
            row.save()


def test_query_count_does_not_grow_with_changes(client: Client, auditor: Any, manager: Any) -> None:
    """10 rounds of changes and 200 (more than a page, more than a CSV batch) cost the
    same number of queries, on the page, its second page, a filtered page and the CSV."""
    dealer = overdue_dealer(code="HISTQ")
    ContactFactory(dealer=dealer)
    CollectionAccount.objects.create(dealer=dealer, stage=Stage.SOFT)
    Promise.objects.create(
        dealer=dealer,
        amount=Decimal("300.00"),
        requested_due_on=TODAY,
        due_on=TODAY,
        made_on=TODAY,
        made_by=manager,
    )
    Task.objects.create(dealer=dealer, assignee=manager, kind=Task.Kind.CALL, due_on=TODAY)
    client.force_login(auditor)
    urls = [
        f"/dealers/{dealer.code}/history/",
        f"/dealers/{dealer.code}/history/?page=2",
        f"/dealers/{dealer.code}/history/?kind=orders",
    ]
    _rounds(dealer, 10, manager)
    few = [_queries(client, url) for url in urls]
    few_csv = _queries(client, f"/dealers/{dealer.code}/history.csv")
    _rounds(dealer, 190, manager)
    many = [_queries(client, url) for url in urls]
    assert few == many
    # The export reads 500 index rows at a time (1,200 rows here: three batches), each
    # batch a bounded number of queries.
    assert _queries(client, f"/dealers/{dealer.code}/history.csv") <= 3 * few_csv


def test_csv_export(client: Client, auditor: Any, manager: Any) -> None:
    dealer = overdue_dealer(code="HIST5")
    order = dealer.orders.get()
    order.disputed = True
    order.dispute_reason = '=HYPERLINK("http://evil")'
    stamp(order, by=manager, reason="-5 bags short")
    order.save()
    client.force_login(auditor)
    response = client.get(f"/dealers/{dealer.code}/history.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="HIST5-history.csv"'
    assert response["Cache-Control"] == "private, no-store"
    rows = _rows(response)
    assert rows[0] == [
        "When", "Who", "Kind", "Object", "Field", "Old value", "New value", "Reason"
    ]  # fmt: skip
    dispute = next(row for row in rows if row[4] == "Dispute reason")
    when = dt.datetime.fromisoformat(dispute[0])
    assert when.utcoffset() is not None
    assert dispute[1:5] == ["mona", "Orders", f"Order {order.number}", "Dispute reason"]
    assert dispute[5] == ""
    assert dispute[6] == '\'=HYPERLINK("http://evil")'
    assert dispute[7] == "'-5 bags short"
    assert any(row[4] == "Disputed" and row[5:7] == ["No", "Yes"] for row in rows)
    # Every change is there, not a page of them.
    assert len({tuple(row[:4]) for row in rows[1:]}) == len(
        _history_of(client, dealer).context["entries"]
    )


def test_csv_keeps_the_filters(client: Client, auditor: Any, story: Dealer) -> None:
    client.force_login(auditor)
    rows = _rows(client.get(f"/dealers/{story.code}/history.csv?kind=account"))
    assert {row[2] for row in rows[1:]} == {"Collection account and stages"}
    page = _history_of(client, story, "?kind=account").content.decode()
    assert f"/dealers/{story.code}/history.csv?kind=account" in page


def test_dealer_page_links_the_history_for_readers(
    client: Client, auditor: Any, collector: Any, story: Dealer
) -> None:
    client.force_login(auditor)
    assert (
        f'href="/dealers/{story.code}/history/"'
        in client.get(f"/dealers/{story.code}/").content.decode()
    )
    story.collector = collector
    story.save()
    client.force_login(collector)
    assert (
        f'href="/dealers/{story.code}/history/"'
        not in client.get(f"/dealers/{story.code}/").content.decode()
    )


def test_deleted_rows_show_as_deleted(client: Client, auditor: Any, manager: Any) -> None:
    dealer = overdue_dealer(code="HIST6")
    contact = ContactFactory(dealer=dealer, name="Gone Person")
    stamp(contact, by=manager, reason="Left the company")
    contact.delete()
    client.force_login(auditor)
    newest = _history_of(client, dealer, "?kind=dealer").context["entries"][0]
    assert newest.action == "Deleted"
    assert newest.reason == "Left the company"
    assert newest.object_label == "Contact Gone Person"
    assert Order.objects.filter(dealer=dealer).exists()


def test_versions_saved_at_the_same_instant_pair_in_order(
    client: Client, auditor: Any, manager: Any, time_machine: Any
) -> None:
    """Within one instant (one transaction, or a frozen clock) the history id orders the
    versions: each change is compared with the one just before it, never a later one."""
    time_machine.move_to(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False)
    dealer = overdue_dealer(code="HIST7")
    order = dealer.orders.get()
    for amount in ("1100.00", "1200.00", "1300.00"):
        order.amount = Decimal(amount)
        stamp(order, by=manager, reason=f"To {amount}")
        order.save()
    client.force_login(auditor)
    entries = _history_of(client, dealer, "?kind=orders").context["entries"]
    assert [(e.reason, [(c.old, c.new) for c in e.changes]) for e in entries[:3]] == [
        ("To 1300.00", [("1200.00", "1300.00")]),
        ("To 1200.00", [("1100.00", "1200.00")]),
        ("To 1100.00", [("1000.00", "1100.00")]),
    ]

"""The daily sweep closes pending escalation requests that no longer make sense (issue 9,
part B): the dealer paid, the account's stage moved on, or the account is already in the
stage asked for. The state machine decides (`can_move`), its refusal says why; a closed
request is nobody's decision, holds no new proposal back, and the API lists it."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import Alert, CollectionAccount, Escalation, Stage, SweepBatch
from dunning.services import EscalationConflict, approve_escalation, request_escalation
from dunning.services.escalations import decide_escalations
from dunning.sweep import run_sweep
from tests.factories import OrderFactory
from tests.sweep_helpers import DAY, D, account, overdue_dealer, pay, stage_of, table_counts

pytestmark = pytest.mark.django_db

TODAY = D(2026, 3, 10)  # a Tuesday
ONE_BATCH = 10**9


def sweep(today: dt.date = TODAY) -> Any:
    return run_sweep(today=today, batch_size=ONE_BATCH)


def ask(dealer: Any, by: Any, to_stage: str = Stage.HARD, on: dt.date = TODAY) -> Escalation:
    return request_escalation(
        dealer=dealer, to_stage=to_stage, reason="Refuses to pay", by=by, today=on
    )


def soft(days: int = 45, **fields: Any) -> Any:
    return overdue_dealer(
        today=TODAY, days=days, stage=Stage.SOFT, cycle_started_on=TODAY - 20 * DAY, **fields
    )


def alert_of(escalation: Escalation) -> Alert:
    return Alert.objects.get(source_key=f"escalation:{escalation.pk}")


def test_a_request_of_a_dealer_who_paid_is_closed_saying_why(collector: Any) -> None:
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)

    summary = sweep()

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.CLOSED
    assert escalation.decided_by is None
    assert escalation.decided_at is not None
    assert escalation.decision_note == (
        "Closed by the daily sweep of 2026-03-10: the move to hard collection is no longer "
        "possible: the account moved from soft to current today (nothing past due any more; "
        "back to current); an account in current cannot move to hard."
    )
    assert summary.counts["escalations_closed"] == 1
    # The account settled the same morning, by the sweep's move.
    assert stage_of(dealer) == Stage.CURRENT
    latest = escalation.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        Escalation.Status.CLOSED,
        None,
        "closed by the daily sweep",
    )
    # Nothing is left for the managers to decide: the request's alert is acknowledged.
    alert = alert_of(escalation)
    assert alert.acknowledged_at == escalation.decided_at
    assert alert.acknowledged_by is None


def test_a_request_whose_account_is_already_in_that_stage_is_closed(collector: Any) -> None:
    dealer = soft(days=70, collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    # Moved to hard by another way (an approval of a twin request, say) meanwhile.
    CollectionAccount.objects.filter(dealer=dealer).update(stage=Stage.HARD)

    sweep()

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.CLOSED
    assert escalation.decision_note.endswith(
        "the move to hard collection is no longer possible: the account is already in hard "
        "collection."
    )


def test_a_request_whose_account_moved_on_is_closed_with_the_state_machines_words(
    collector: Any,
) -> None:
    dealer = soft(days=70, collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    CollectionAccount.objects.filter(dealer=dealer).update(stage=Stage.LITIGATION)

    sweep()

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.CLOSED
    assert escalation.decision_note.endswith("an account in litigation cannot move to hard.")


def test_a_write_off_request_of_an_account_that_settled_is_closed(collector: Any) -> None:
    """Write-off has no condition on the facts: only the stage of after the moves tells
    that it is no longer possible, as approving it would find."""
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, to_stage=Stage.WRITTEN_OFF, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)

    sweep()

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.CLOSED
    assert "an account in current cannot move to written_off" in escalation.decision_note


def test_a_request_that_still_makes_sense_stays_pending_with_its_alert(collector: Any) -> None:
    dealer = soft(days=45, collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    write_off = ask(dealer, collector, to_stage=Stage.WRITTEN_OFF, on=TODAY - DAY)

    summary = sweep()

    for request in (escalation, write_off):
        request.refresh_from_db()
        assert (request.status, request.decided_at, request.decision_note) == (
            Escalation.Status.PENDING,
            None,
            "",
        )
        assert alert_of(request).acknowledged_at is None
    assert "escalations_closed" not in summary.counts


def test_only_the_stale_one_of_a_dealers_two_requests_is_closed(collector: Any) -> None:
    """Each pending request is asked of the state machine on its own: a placed dealer who
    paid can no longer be taken to court, but can still be written off."""
    dealer = overdue_dealer(
        today=TODAY, days=45, stage=Stage.AGENCY, cycle_started_on=TODAY - 20 * DAY
    )
    litigation = ask(dealer, collector, to_stage=Stage.LITIGATION, on=TODAY - DAY)
    write_off = ask(dealer, collector, to_stage=Stage.WRITTEN_OFF, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)

    sweep()

    litigation.refresh_from_db()
    write_off.refresh_from_db()
    # An agency placement stays with the agency when paid (people close it): litigation
    # needs something past due, a write-off does not.
    assert stage_of(dealer) == Stage.AGENCY
    assert litigation.status == Escalation.Status.CLOSED
    assert litigation.decision_note.endswith("nothing is past due.")
    assert write_off.status == Escalation.Status.PENDING


def test_sweeping_the_same_date_again_closes_nothing_new(collector: Any) -> None:
    dealer = soft(collector=collector)
    ask(dealer, collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)
    sweep()
    before = table_counts()
    closed = Escalation.objects.get(dealer=dealer)
    SweepBatch.objects.all().delete()

    again = sweep()

    assert "escalations_closed" not in again.counts
    assert table_counts() == before
    assert Escalation.objects.get(dealer=dealer).decided_at == closed.decided_at


def test_a_closed_request_does_not_hold_the_next_proposal_back(collector: Any) -> None:
    """The sweep proposed hard, the dealer paid (closed), then fell 60 days behind again:
    the sweep proposes again, which a rejection would have held back for 30 days."""
    dealer = soft(days=61, collector=collector)
    sweep(TODAY)
    proposal = Escalation.objects.get(dealer=dealer)
    assert (proposal.status, proposal.requested_by) == (Escalation.Status.PENDING, None)
    pay(dealer, "1000.00", TODAY)
    sweep(TODAY + DAY)
    proposal.refresh_from_db()
    assert proposal.status == Escalation.Status.CLOSED

    # A new order falls due two days on; 60 days after that, the sweep proposes again.
    OrderFactory(
        dealer=dealer, ordered_on=TODAY - 28 * DAY, due_on=TODAY + 2 * DAY, amount=Decimal(500)
    )
    later = TODAY + 62 * DAY
    sweep(later)

    new = Escalation.objects.filter(dealer=dealer, status=Escalation.Status.PENDING).get()
    assert new.pk != proposal.pk
    assert new.requested_on == later
    assert account(dealer).stage == Stage.SOFT


def test_closing_costs_the_same_queries_for_2_and_for_6_requests(collector: Any) -> None:
    def stale_requests(n: int, today: dt.date) -> None:
        for _ in range(n):
            dealer = overdue_dealer(
                today=today, days=45, stage=Stage.SOFT, cycle_started_on=today - 20 * DAY
            )
            ask(dealer, collector, on=today - DAY)
            pay(dealer, "1000.00", today - DAY)

    stale_requests(2, TODAY)
    with CaptureQueriesContext(connection) as few:
        small = sweep(TODAY)
    stale_requests(6, TODAY + DAY)
    with CaptureQueriesContext(connection) as many:
        large = sweep(TODAY + DAY)

    assert (small.counts["escalations_closed"], large.counts["escalations_closed"]) == (2, 6)
    assert len(many) == len(few), "\n".join(q["sql"][:120] for q in many.captured_queries)


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL=postgres://...): SQLite runs one writer at a time",
)
@pytest.mark.django_db(transaction=True)
def test_a_request_a_manager_is_deciding_is_left_to_the_manager(collector: Any) -> None:
    """A manager's decision locks the request, then waits for the account the batch
    holds: the batch skips that request rather than wait for it (a deadlock), and the
    next morning's sweep closes it if it is still pending."""
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)
    locked, release = threading.Event(), threading.Event()

    def manager_deciding() -> None:
        try:
            with transaction.atomic():
                Escalation.objects.select_for_update().get(pk=escalation.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    manager = threading.Thread(target=manager_deciding)
    manager.start()
    assert locked.wait(timeout=10)
    try:
        summary = sweep()
        escalation.refresh_from_db()
        assert escalation.status == Escalation.Status.PENDING
    finally:
        release.set()
        manager.join(timeout=30)

    assert "escalations_closed" not in summary.counts
    assert stage_of(dealer) == Stage.CURRENT
    assert sweep(TODAY + DAY).counts["escalations_closed"] == 1
    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.CLOSED


def test_a_manager_deciding_a_closed_request_is_told_the_sweep_closed_it(
    collector: Any, manager: Any
) -> None:
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)
    sweep()
    now = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)

    with pytest.raises(EscalationConflict, match="already closed by the daily sweep"):
        approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=now)
    [outcome] = decide_escalations(
        escalation_ids=[escalation.pk], approve=True, by=manager, note="", today=TODAY, now=now
    )
    assert str(outcome) == f"#{escalation.pk} already closed by the daily sweep"


def test_the_api_lists_closed_requests(collector: Any, manager: Any) -> None:
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    still = ask(soft(days=70, collector=collector), collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)
    sweep()
    client = Client()
    client.force_login(manager)

    closed = client.get("/api/v1/escalations", {"status": "closed"})

    assert closed.status_code == 200
    [answer] = closed.json()
    assert answer["id"] == escalation.pk
    assert (answer["status"], answer["decided_by"]) == ("closed", None)
    assert answer["decided_at"] is not None
    assert answer["decision_note"].startswith("Closed by the daily sweep of 2026-03-10")
    everything = {e["id"]: e["status"] for e in client.get("/api/v1/escalations").json()}
    assert everything == {escalation.pk: "closed", still.pk: "pending"}
    assert client.get("/api/v1/escalations", {"status": "open"}).status_code == 400


def test_the_page_shows_a_closed_request_as_closed_by_the_sweep(
    collector: Any, manager: Any
) -> None:
    dealer = soft(collector=collector)
    escalation = ask(dealer, collector, on=TODAY - DAY)
    pay(dealer, "1000.00", TODAY - DAY)
    sweep()
    client = Client()
    client.force_login(manager)

    assert list(client.get("/escalations/").context["escalations"]) == []
    page = client.get("/escalations/", {"status": "closed"})

    assert [e.pk for e in page.context["escalations"]] == [escalation.pk]
    body = page.content.decode()
    assert "Closed by the daily sweep" in body
    assert f'name="escalation" value="{escalation.pk}"' not in body

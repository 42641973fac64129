"""The sweep checks promises the day after they fall due (issue 3, "Promises and plans"; "Promises
are pinned down", docs/PRACTICE.md §8; "Partial payments", docs/PRACTICE.md §17): kept, partly kept
or broken, a follow-up call on the next business day, and a hard proposal on the second broken
promise within 90 days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dunning.models import Alert, CollectionPolicy, Escalation, Promise, Stage, Task
from dunning.sweep import run_sweep
from tests.factories import UserFactory
from tests.sweep_helpers import DAY, D, overdue_dealer, pay, promise, stage_of, table_counts

pytestmark = pytest.mark.django_db

ONE_BATCH = 10**9


def sweep(today: dt.date) -> None:
    run_sweep(today=today, batch_size=ONE_BATCH)


def refreshed(p: Promise) -> Promise:
    p.refresh_from_db()
    return p


@pytest.fixture
def collector_dealer(collector):
    """A dealer 20 days late on 1,000.00 on 2026-03-10, in reminder, with a collector."""
    return overdue_dealer(
        today=D(2026, 3, 10),
        days=20,
        stage=Stage.REMINDER,
        cycle_started_on=D(2026, 2, 19),
        collector=collector,
    )


def test_a_promise_is_not_checked_on_its_own_day(collector_dealer):
    p = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 10), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert refreshed(p).status == Promise.Status.OPEN
    assert not Task.objects.exists()


def test_money_received_in_the_window_keeps_the_promise(collector_dealer):
    p = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))
    pay(collector_dealer, "500.00", D(2026, 3, 9))

    sweep(D(2026, 3, 10))

    p = refreshed(p)
    assert (p.status, p.received_amount, p.checked_on) == (
        Promise.Status.KEPT,
        Decimal("500.00"),
        D(2026, 3, 10),
    )
    assert not Task.objects.exists()
    assert (
        p.history.first().history_change_reason
        == "checked by the daily sweep, kept: received 500.00"
    )


def test_a_promise_paid_in_part_is_partly_kept_and_followed_up(collector_dealer, collector):
    p = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))
    pay(collector_dealer, "200.00", D(2026, 3, 6))

    sweep(D(2026, 3, 10))

    p = refreshed(p)
    assert (p.status, p.received_amount) == (Promise.Status.PARTLY_KEPT, Decimal("200.00"))
    task = Task.objects.get()
    assert task.source_key == f"promise-broken:{p.pk}"
    assert "partly kept: received 200.00 of 500.00" in task.reason


def test_a_broken_promise_opens_a_call_for_the_collector_on_the_next_business_day(
    collector_dealer, collector
):
    p = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert refreshed(p).status == Promise.Status.BROKEN
    assert refreshed(p).received_amount == Decimal("0.00")
    task = Task.objects.get()
    assert (task.dealer, task.assignee, task.kind, task.due_on) == (
        collector_dealer,
        collector,
        Task.Kind.CALL,
        D(2026, 3, 10),
    )
    assert (task.window_from, task.window_to) == (dt.time(15, 0), dt.time(17, 0))
    assert task.history.first().history_user is None


def test_money_received_before_the_promise_was_made_does_not_count(collector_dealer):
    pay(collector_dealer, "500.00", D(2026, 3, 4))
    p = promise(collector_dealer, amount="300.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert refreshed(p).status == Promise.Status.BROKEN


def test_one_payment_counts_for_one_promise_only(collector_dealer):
    first = promise(collector_dealer, amount="400.00", due_on=D(2026, 3, 6), made_on=D(2026, 3, 2))
    second = promise(collector_dealer, amount="400.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 3))
    pay(collector_dealer, "500.00", D(2026, 3, 4))

    sweep(D(2026, 3, 10))

    assert (refreshed(first).status, refreshed(first).received_amount) == (
        Promise.Status.KEPT,
        Decimal("400.00"),
    )
    assert (refreshed(second).status, refreshed(second).received_amount) == (
        Promise.Status.PARTLY_KEPT,
        Decimal("100.00"),
    )


def test_a_promise_decided_earlier_keeps_the_money_it_counted(collector_dealer):
    pay(collector_dealer, "300.00", D(2026, 3, 4))
    promise(
        collector_dealer,
        amount="300.00",
        due_on=D(2026, 3, 5),
        made_on=D(2026, 3, 2),
        status=Promise.Status.KEPT,
        received_amount=Decimal("300.00"),
        checked_on=D(2026, 3, 6),
    )
    later = promise(collector_dealer, amount="300.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 3))
    pay(collector_dealer, "100.00", D(2026, 3, 8))

    sweep(D(2026, 3, 10))

    assert (refreshed(later).status, refreshed(later).received_amount) == (
        Promise.Status.PARTLY_KEPT,
        Decimal("100.00"),
    )


def test_a_promise_moved_off_a_month_end_saturday_is_checked_the_day_after_its_business_day(
    collector,
):
    dealer = overdue_dealer(today=D(2026, 1, 30), days=10, collector=collector)
    # Asked for Saturday 31 January; moved to Monday 2 February.
    p = promise(
        dealer,
        amount="300.00",
        requested_due_on=D(2026, 1, 31),
        due_on=D(2026, 2, 2),
        made_on=D(2026, 1, 28),
    )

    for day in (D(2026, 1, 31), D(2026, 2, 1), D(2026, 2, 2)):
        sweep(day)
        assert refreshed(p).status == Promise.Status.OPEN, day
    sweep(D(2026, 2, 3))

    p = refreshed(p)
    assert (p.status, p.checked_on) == (Promise.Status.BROKEN, D(2026, 2, 3))
    assert Task.objects.get().due_on == D(2026, 2, 3)


def test_a_promise_lapsing_on_friday_is_followed_up_on_monday_when_swept_on_saturday(collector):
    dealer = overdue_dealer(today=D(2026, 2, 7), days=15, collector=collector)
    promise(dealer, amount="300.00", due_on=D(2026, 2, 6), made_on=D(2026, 2, 2))

    sweep(D(2026, 2, 7))

    assert Task.objects.get().due_on == D(2026, 2, 9)


def test_the_follow_up_skips_public_holidays_of_the_dealers_country(collector):
    # Good Friday 3 April and Easter Monday 6 April 2026 are holidays in Germany.
    dealer = overdue_dealer(today=D(2026, 4, 3), days=15, collector=collector, country="DE")
    promise(dealer, amount="300.00", due_on=D(2026, 4, 2), made_on=D(2026, 3, 30))

    sweep(D(2026, 4, 3))

    assert Task.objects.get().due_on == D(2026, 4, 7)


def test_the_follow_up_uses_the_holidays_of_the_dealers_own_country(collector):
    # 6 April is Easter Monday in Germany but a working day in the United States.
    dealer = overdue_dealer(today=D(2026, 4, 4), days=15, collector=collector, country="US")
    promise(dealer, amount="300.00", due_on=D(2026, 4, 3), made_on=D(2026, 3, 30))

    sweep(D(2026, 4, 4))

    assert Task.objects.get().due_on == D(2026, 4, 6)


def test_a_promise_checked_on_the_day_the_clocks_go_forward(collector):
    # Sunday 29 March 2026, Europe/Berlin switches to summer time at 02:00.
    dealer = overdue_dealer(today=D(2026, 3, 29), days=12, collector=collector)
    p = promise(dealer, amount="250.00", due_on=D(2026, 3, 27), made_on=D(2026, 3, 20))
    pay(dealer, "100.00", D(2026, 3, 27))

    sweep(D(2026, 3, 28))
    sweep(D(2026, 3, 29))

    p = refreshed(p)
    assert (p.status, p.received_amount, p.checked_on) == (
        Promise.Status.PARTLY_KEPT,
        Decimal("100.00"),
        D(2026, 3, 28),
    )
    task = Task.objects.get()
    assert (task.due_on, task.window_from, task.window_to) == (
        D(2026, 3, 30),
        dt.time(15, 0),
        dt.time(17, 0),
    )


def test_a_second_broken_promise_within_90_days_proposes_hard_collection(collector_dealer):
    earlier = promise(
        collector_dealer,
        amount="200.00",
        due_on=D(2026, 1, 20),
        made_on=D(2026, 1, 15),
        status=Promise.Status.PARTLY_KEPT,
        received_amount=Decimal("50.00"),
        checked_on=D(2026, 1, 21),
    )
    latest = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    escalation = Escalation.objects.get(dealer=collector_dealer)
    assert (escalation.to_stage, escalation.requested_by, escalation.status) == (
        Stage.HARD,
        None,
        Escalation.Status.PENDING,
    )
    assert "2 broken promises within 90 days" in escalation.reason
    assert f"promise #{earlier.pk}" in escalation.reason
    assert f"promise #{latest.pk}" in escalation.reason
    alert = Alert.objects.get(kind=Alert.Kind.ESCALATION)
    assert alert.source_key == f"escalation:{escalation.pk}"
    assert collector_dealer.code in alert.message


def test_a_third_broken_promise_does_not_double_the_pending_proposal(collector_dealer):
    for due in (D(2026, 2, 20), D(2026, 3, 2)):
        promise(collector_dealer, amount="100.00", due_on=due, made_on=due - 3 * DAY)
    sweep(D(2026, 3, 3))
    promise(collector_dealer, amount="100.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 4))

    sweep(D(2026, 3, 10))

    assert Promise.objects.filter(status=Promise.Status.BROKEN).count() == 3
    assert Escalation.objects.filter(dealer=collector_dealer).count() == 1
    assert Task.objects.filter(kind=Task.Kind.CALL).count() == 3


def test_broken_promises_further_apart_than_the_window_do_not_propose(collector_dealer):
    promise(
        collector_dealer,
        amount="200.00",
        due_on=D(2025, 12, 1),
        made_on=D(2025, 11, 25),
        status=Promise.Status.BROKEN,
        checked_on=D(2025, 12, 2),
    )
    promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert not Escalation.objects.exists()


def test_the_number_of_broken_promises_that_proposes_hard_is_policy(collector_dealer):
    CollectionPolicy.objects.update_or_create(pk=1, defaults={"broken_promises_for_hard": 1})
    promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert "1 broken promises within 90 days" in Escalation.objects.get().reason


def test_when_the_debt_is_paid_open_promises_count_as_kept(collector_dealer):
    lapsed = promise(collector_dealer, amount="400.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 2))
    ahead = promise(collector_dealer, amount="600.00", due_on=D(2026, 3, 20), made_on=D(2026, 3, 2))
    pay(collector_dealer, "1000.00", D(2026, 3, 10))

    sweep(D(2026, 3, 11))

    assert stage_of(collector_dealer) == Stage.CURRENT
    assert (refreshed(lapsed).status, refreshed(lapsed).received_amount) == (
        Promise.Status.KEPT,
        Decimal("0.00"),
    )
    assert (refreshed(ahead).status, refreshed(ahead).received_amount) == (
        Promise.Status.KEPT,
        Decimal("600.00"),
    )
    assert not Task.objects.exists()


def test_an_installment_plan_is_checked_promise_by_promise(collector_dealer):
    first = promise(collector_dealer, amount="300.00", due_on=D(2026, 3, 2), made_on=D(2026, 2, 25))
    second = promise(
        collector_dealer, amount="300.00", due_on=D(2026, 3, 9), made_on=D(2026, 2, 25)
    )
    third = promise(
        collector_dealer, amount="300.00", due_on=D(2026, 3, 16), made_on=D(2026, 2, 25)
    )
    pay(collector_dealer, "300.00", D(2026, 3, 2))

    sweep(D(2026, 3, 3))
    sweep(D(2026, 3, 10))

    assert [refreshed(p).status for p in (first, second, third)] == [
        Promise.Status.KEPT,
        Promise.Status.BROKEN,
        Promise.Status.OPEN,
    ]


def test_promises_are_checked_once(collector_dealer):
    promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))
    sweep(D(2026, 3, 10))
    before = table_counts()

    sweep(D(2026, 3, 10))
    sweep(D(2026, 3, 11))

    after = table_counts()
    for table in ("Promise", "HistoricalPromise", "Task", "HistoricalTask", "Escalation"):
        assert after[f"dunning.{table}"] == before[f"dunning.{table}"], table


def test_a_follow_up_has_no_assignee_when_the_dealer_has_no_collector():
    dealer = overdue_dealer(today=D(2026, 3, 10), days=5)
    promise(dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    assert Task.objects.get().assignee is None


def test_the_broken_promise_task_follows_the_policy_window(collector_dealer):
    CollectionPolicy.objects.update_or_create(
        pk=1, defaults={"suggested_from": dt.time(9, 0), "suggested_to": dt.time(10, 30)}
    )
    promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))

    sweep(D(2026, 3, 10))

    task = Task.objects.get()
    assert (task.window_from, task.window_to) == (dt.time(9, 0), dt.time(10, 30))


def test_other_dealers_promises_and_payments_do_not_mix(collector_dealer):
    other = overdue_dealer(today=D(2026, 3, 10), days=5, collector=UserFactory(role="collector"))
    mine = promise(collector_dealer, amount="500.00", due_on=D(2026, 3, 9), made_on=D(2026, 3, 5))
    pay(other, "500.00", D(2026, 3, 6))

    sweep(D(2026, 3, 10))

    assert refreshed(mine).status == Promise.Status.BROKEN

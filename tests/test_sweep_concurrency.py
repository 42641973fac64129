"""Two sweeps of the same day at the same moment, on PostgreSQL: each batch is done by one
of them, and the day's work is done exactly once (issue 3, "Safe to run twice or
concurrently")."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from dunning.models import (
    Alert,
    Escalation,
    InterestCharge,
    Letter,
    Promise,
    Stage,
    StageChange,
    SweepBatch,
    Task,
)
from dunning.sweep import BatchResult, batch_numbers, run_sweep, sweep_batch
from tests.sweep_helpers import D, dealers_in_every_situation, overdue_dealer, table_counts

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL=postgres://...): SQLite runs one writer at a time",
    ),
    pytest.mark.django_db(transaction=True),
]

TODAY = D(2026, 3, 10)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; each thread has its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as exc:  # re-raised in the test thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a sweep did not finish in 120 s"
    assert not errors, errors
    return results


def test_two_sweeps_of_the_same_day_at_once_do_each_batch_once():
    expected = dealers_in_every_situation(48, TODAY)
    numbers = batch_numbers(batch_size=4)
    assert len(numbers) >= 10

    first, second = at_once(
        lambda: run_sweep(today=TODAY, batch_size=4),
        lambda: run_sweep(today=TODAY, batch_size=4),
    )

    assert set(first.done).isdisjoint(second.done)
    assert sorted(first.done + second.done) == numbers
    assert sorted(first.skipped + second.skipped) == numbers
    claims = SweepBatch.objects.filter(business_date=TODAY)
    assert sorted(c.number for c in claims) == numbers
    # What both did together is the day's work, once.
    assert first.counts + second.counts == expected
    assert StageChange.objects.count() == sum(
        v for k, v in expected.items() if k.startswith("moved_to_")
    )
    assert Escalation.objects.count() == expected["escalations_proposed"]
    assert Letter.objects.filter(issued_on=TODAY).count() == expected["letters_reminder_1"]
    assert InterestCharge.objects.count() == expected["interest_charges"]
    assert Task.objects.count() == expected["tasks_call"] + expected["tasks_review"]
    assert Alert.objects.count() == expected["alerts_escalation"] + expected["alerts_limitation"]
    assert Promise.objects.filter(checked_on=TODAY).count() == (
        expected["promises_broken"] + expected["promises_kept"]
    )


def test_a_sweep_started_while_another_runs_changes_nothing_more():
    dealers_in_every_situation(24, TODAY)
    at_once(lambda: run_sweep(today=TODAY, batch_size=4))
    before = table_counts()

    first, second = at_once(
        lambda: run_sweep(today=TODAY, batch_size=4),
        lambda: run_sweep(today=TODAY, batch_size=4),
    )

    assert first.done == second.done == []
    assert table_counts() == before


def test_two_workers_racing_for_one_batch_do_it_once():
    dealer = overdue_dealer(today=TODAY, days=35)
    number = dealer.pk // 500

    results: list[BatchResult] = at_once(
        lambda: sweep_batch(today=TODAY, number=number, batch_size=500, worker="w1"),
        lambda: sweep_batch(today=TODAY, number=number, batch_size=500, worker="w2"),
    )

    assert sorted(r.done for r in results) == [False, True]
    winner = next(r for r in results if r.done)
    assert SweepBatch.objects.get().summary["worker"] == winner.worker
    assert Counter(StageChange.objects.values_list("to_stage", flat=True)) == {
        Stage.REMINDER: 1,
        Stage.SOFT: 1,
    }

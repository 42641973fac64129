"""The daily sweep: stage moves, escalation proposals, batches and claims, running it
twice, its query count, the command and the beat entry (issue 3, "The daily sweep")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.celery import app as celery_app
from dunning import tasks
from dunning.figures import DealerFacts
from dunning.models import (
    Alert,
    CollectionAccount,
    CollectionPolicy,
    Escalation,
    Letter,
    Stage,
    StageChange,
    SweepBatch,
)
from dunning.sweep import (
    BatchSizeMismatch,
    batch_numbers,
    batch_range,
    business_today,
    run_sweep,
)
from dunning.sweep.steps import issue_letters, move_stages, propose_hard
from tests.factories import DealerFactory, UserFactory
from tests.sweep_helpers import (
    DAY,
    D,
    account,
    dealers_in_every_situation,
    overdue_dealer,
    pay,
    promise,
    stage_of,
    table_counts,
)

pytestmark = pytest.mark.django_db

TODAY = D(2026, 3, 10)  # a Tuesday
BERLIN = ZoneInfo("Europe/Berlin")
# One batch for all dealers of a test, whatever ids the database hands out.
ONE_BATCH = 10**9


def sweep(today: dt.date = TODAY, **kwargs: object):
    return run_sweep(today=today, batch_size=ONE_BATCH, **kwargs)  # type: ignore[arg-type]


# Stage moves ------------------------------------------------------------------------------


def test_overdue_dealer_moves_to_reminder_recorded_as_made_by_the_sweep():
    dealer = overdue_dealer(today=TODAY, days=1)

    sweep()

    acc = account(dealer)
    assert (acc.stage, acc.stage_since, acc.cycle_started_on) == (Stage.REMINDER, TODAY, TODAY)
    change = StageChange.objects.get(dealer=dealer)
    assert (change.from_stage, change.to_stage, change.on, change.by) == (
        Stage.CURRENT,
        Stage.REMINDER,
        TODAY,
        None,
    )
    assert "1 days past due" in change.reason
    latest = acc.history.first()
    assert latest.history_user is None
    assert "1 days past due" in latest.history_change_reason


def test_dealer_with_nothing_past_due_stays_current_and_gets_an_account():
    dealer = overdue_dealer(today=TODAY, days=0)

    sweep()

    assert stage_of(dealer) == Stage.CURRENT
    assert not StageChange.objects.exists()
    assert account(dealer).history.count() == 1


def test_grace_days_hold_back_the_reminder():
    CollectionPolicy.objects.update_or_create(pk=1, defaults={"grace_days": 3})
    within = overdue_dealer(today=TODAY, days=3)
    beyond = overdue_dealer(today=TODAY, days=4)

    sweep()

    assert stage_of(within) == Stage.CURRENT
    assert stage_of(beyond) == Stage.REMINDER
    assert "3 days' grace" in StageChange.objects.get(dealer=beyond).reason


def test_reminder_becomes_soft_at_30_days_past_due_of_the_oldest_order():
    at_29 = overdue_dealer(today=TODAY, days=29, stage=Stage.REMINDER, cycle_started_on=TODAY)
    at_30 = overdue_dealer(today=TODAY, days=30, stage=Stage.REMINDER, cycle_started_on=TODAY)

    sweep()

    assert stage_of(at_29) == Stage.REMINDER
    assert stage_of(at_30) == Stage.SOFT
    change = StageChange.objects.get(dealer=at_30)
    assert change.reason == "oldest order 30 days past due (policy: soft at 30)"


def test_dealer_first_seen_35_days_late_passes_reminder_on_the_way_to_soft():
    dealer = overdue_dealer(today=TODAY, days=35)

    sweep()

    assert stage_of(dealer) == Stage.SOFT
    moves = StageChange.objects.filter(dealer=dealer).order_by("id")
    assert [(m.from_stage, m.to_stage) for m in moves] == [
        (Stage.CURRENT, Stage.REMINDER),
        (Stage.REMINDER, Stage.SOFT),
    ]
    latest = account(dealer).history.first()
    assert (latest.stage, latest.stage_since, latest.cycle_started_on) == (Stage.SOFT, TODAY, TODAY)
    assert latest.history_change_reason == (
        "oldest order 35 days past due (policy: reminder when anything is past due); "
        "oldest order 35 days past due (policy: soft at 30)"
    )


def test_account_returns_to_current_after_payment_and_the_move_is_recorded():
    dealer = overdue_dealer(today=TODAY, days=40)
    sweep()
    assert stage_of(dealer) == Stage.SOFT

    pay(dealer, "1000.00", TODAY)
    sweep(TODAY + DAY)

    acc = account(dealer)
    assert (acc.stage, acc.stage_since, acc.cycle_started_on) == (Stage.CURRENT, TODAY + DAY, None)
    back = StageChange.objects.filter(dealer=dealer, to_stage=Stage.CURRENT).get()
    assert back.from_stage == Stage.SOFT
    assert back.by is None
    assert back.reason == "nothing past due any more; back to current"


@pytest.mark.parametrize("stage", [Stage.HARD, Stage.LITIGATION])
def test_hard_and_litigation_return_to_current_automatically_once_paid(stage):
    dealer = overdue_dealer(today=TODAY, days=90, stage=stage, cycle_started_on=TODAY - 80 * DAY)
    pay(dealer, "1000.00", TODAY - DAY)

    sweep()

    assert stage_of(dealer) == Stage.CURRENT
    assert StageChange.objects.get(dealer=dealer).from_stage == stage


@pytest.mark.parametrize("stage", [Stage.AGENCY, Stage.WRITTEN_OFF])
def test_agency_and_written_off_accounts_are_closed_by_people_not_the_sweep(stage):
    dealer = overdue_dealer(today=TODAY, days=90, stage=stage, cycle_started_on=TODAY - 80 * DAY)
    pay(dealer, "1000.00", TODAY - DAY)

    sweep()

    assert stage_of(dealer) == stage
    assert not StageChange.objects.exists()


# Escalation proposals ----------------------------------------------------------------------


def test_escalation_to_hard_is_proposed_at_60_days_past_due_once():
    at_59 = overdue_dealer(today=TODAY, days=59, stage=Stage.SOFT, cycle_started_on=TODAY)
    at_60 = overdue_dealer(today=TODAY, days=60, stage=Stage.SOFT, cycle_started_on=TODAY)

    sweep()
    sweep(TODAY + DAY)

    assert not Escalation.objects.filter(dealer=at_59, requested_on=TODAY).exists()
    escalation = Escalation.objects.get(dealer=at_60)
    assert (escalation.to_stage, escalation.status, escalation.requested_by) == (
        Stage.HARD,
        Escalation.Status.PENDING,
        None,
    )
    assert escalation.requested_on == TODAY
    assert "oldest order 60 days past due (policy: hard proposed at 60)" in escalation.reason
    alert = Alert.objects.get(dealer=at_60, kind=Alert.Kind.ESCALATION)
    assert alert.source_key == f"escalation:{escalation.pk}"
    # The 59-day dealer reaches 60 the next day: proposed then, once.
    assert Escalation.objects.filter(dealer=at_59).count() == 1
    # The stage changes only when a manager approves.
    assert stage_of(at_60) == Stage.SOFT


def test_a_pending_request_by_a_collector_is_not_doubled(collector):
    dealer = overdue_dealer(today=TODAY, days=70, stage=Stage.SOFT, cycle_started_on=TODAY)
    Escalation.objects.create(
        dealer=dealer,
        to_stage=Stage.HARD,
        reason="Refuses to pay",
        requested_by=collector,
        requested_on=TODAY - DAY,
    )

    sweep()

    assert Escalation.objects.filter(dealer=dealer).count() == 1


def test_a_rejected_proposal_is_not_renewed_for_30_days(manager):
    dealer = overdue_dealer(today=TODAY, days=70, stage=Stage.SOFT, cycle_started_on=TODAY)
    Escalation.objects.create(
        dealer=dealer,
        to_stage=Stage.HARD,
        reason="Proposed by the daily sweep",
        requested_on=TODAY - 10 * DAY,
        status=Escalation.Status.REJECTED,
        decided_by=manager,
        decided_at=dt.datetime(2026, 3, 1, 10, 0, tzinfo=BERLIN),
    )

    sweep()
    sweep(D(2026, 3, 31))
    assert Escalation.objects.filter(dealer=dealer).count() == 1

    sweep(D(2026, 4, 1))
    assert Escalation.objects.filter(dealer=dealer, status=Escalation.Status.PENDING).count() == 1


def test_no_proposal_for_an_account_already_hard():
    dealer = overdue_dealer(today=TODAY, days=70, stage=Stage.HARD, cycle_started_on=TODAY)

    sweep()

    assert not Escalation.objects.filter(dealer=dealer).exists()


# One dealer's whole story ------------------------------------------------------------------


def test_one_dealer_from_first_overdue_day_to_a_hard_proposal_and_back_to_current():
    due_on = D(2026, 1, 15)
    dealer = overdue_dealer(today=due_on, days=0, amount="5000.00")

    day = due_on
    while day <= due_on + 61 * DAY:
        sweep(day)
        day += DAY

    moves = StageChange.objects.filter(dealer=dealer).order_by("id")
    assert [(m.to_stage, (m.on - due_on).days) for m in moves] == [
        (Stage.REMINDER, 1),
        (Stage.SOFT, 30),
    ]
    letters = Letter.objects.filter(dealer=dealer).order_by("issued_on")
    assert [(x.kind, x.level, (x.issued_on - due_on).days) for x in letters] == [
        (Letter.Kind.REMINDER, 1, 7),
        (Letter.Kind.REMINDER, 2, 21),
        (Letter.Kind.FINAL_DEMAND, 3, 45),
    ]
    assert {x.cycle_started_on for x in letters} == {due_on + DAY}
    proposal = Escalation.objects.get(dealer=dealer)
    assert (proposal.requested_on - due_on).days == 60

    pay(dealer, "6000.00", due_on + 62 * DAY)
    sweep(due_on + 62 * DAY)

    assert stage_of(dealer) == Stage.CURRENT
    assert StageChange.objects.filter(dealer=dealer).count() == 3


# The steps, in memory -------------------------------------------------------------------------
# Each step takes the accounts, their facts, the policy and earlier decisions, and returns
# its own decisions; the state machine says which moves are possible.


def in_memory(stage: Stage, days: int, dealer_id: int = 1, **account_fields: object):
    """An unsaved account with the facts of a dealer whose oldest order is `days` late."""
    oldest = TODAY - dt.timedelta(days=days) if days > 0 else None
    facts = DealerFacts(
        dealer_id=dealer_id,
        code=f"D{dealer_id}",
        country="DE",
        currency="EUR",
        time_zone="",
        collector_id=None,
        credit_limit=Decimal("5000.00"),
        balance=Decimal("1000.00"),
        overdue=Decimal("1000.00") if days > 0 else Decimal("0.00"),
        oldest_due_on=oldest,
        overdue_days=max(days, 0),
        stage=stage,
        broken_recent=0,
        promise_due_today=False,
        danger_event=False,
        override_until=None,
    )
    acc = CollectionAccount(dealer_id=dealer_id, stage=stage, **account_fields)
    acc.facts = facts
    acc.policy = CollectionPolicy()
    return acc, facts


def test_the_moves_are_the_state_machines_decided_without_queries(django_assert_num_queries):
    policy = CollectionPolicy(grace_days=3)
    cases = {
        1: in_memory(Stage.CURRENT, 3, 1),  # within the grace days
        2: in_memory(Stage.CURRENT, 35, 2),  # reminder, then soft
        3: in_memory(Stage.LITIGATION, 0, 3, cycle_started_on=TODAY - 99 * DAY),  # settled
        4: in_memory(Stage.AGENCY, 0, 4, cycle_started_on=TODAY - 99 * DAY),  # people close it
        5: in_memory(Stage.HARD, 80, 5),  # moved by hand, no episode yet
    }
    accounts = {d: acc for d, (acc, _) in cases.items()}
    facts = {d: f for d, (_, f) in cases.items()}
    for acc in accounts.values():
        acc.policy = policy

    with django_assert_num_queries(0):
        moves = move_stages(accounts, facts, today=TODAY, policy=policy)

    assert [(c.dealer_id, c.from_stage, c.to_stage) for c in moves.changes] == [
        (2, Stage.CURRENT, Stage.REMINDER),
        (2, Stage.REMINDER, Stage.SOFT),
        (3, Stage.LITIGATION, Stage.CURRENT),
    ]
    assert (moves.moved, moves.settled, set(moves.accounts)) == ({2, 3}, {3}, {2, 3, 5})
    assert moves.cycles_as_loaded == {2: None, 3: TODAY - 99 * DAY, 5: None}
    assert (accounts[5].stage, accounts[5].cycle_started_on) == (Stage.HARD, TODAY)


def test_hard_is_proposed_where_harden_is_possible_and_there_is_a_reason(
    django_assert_num_queries,
):
    policy = CollectionPolicy()
    cases = {
        1: in_memory(Stage.SOFT, 60, 1),  # old enough
        2: in_memory(Stage.REMINDER, 20, 2),  # broken promises
        3: in_memory(Stage.SOFT, 59, 3),  # no reason yet
        4: in_memory(Stage.HARD, 90, 4),  # already hard: harden is not possible
    }
    accounts = {d: acc for d, (acc, _) in cases.items()}
    facts = {d: f for d, (_, f) in cases.items()}
    broken = {2: "2 broken promises within 90 days: ...", 4: "3 broken promises ..."}

    with django_assert_num_queries(0):
        proposals = propose_hard(accounts, facts, broken_promises=broken, policy=policy)

    assert [(p.dealer_id, p.to_stage) for p in proposals] == [(1, Stage.HARD), (2, Stage.HARD)]
    assert proposals[0].reason == (
        "Proposed by the daily sweep: oldest order 60 days past due (policy: hard proposed at 60)."
    )
    assert proposals[1].reason == (
        "Proposed by the daily sweep: 2 broken promises within 90 days: ...."
    )


def test_letters_go_to_the_stages_that_get_letters_once_per_episode(django_assert_num_queries):
    policy = CollectionPolicy()
    episode = TODAY - 20 * DAY
    cases = {
        1: in_memory(Stage.SOFT, 50, 1, cycle_started_on=episode),
        2: in_memory(Stage.LITIGATION, 50, 2, cycle_started_on=episode),  # lawyers write
        3: in_memory(Stage.REMINDER, 22, 3, cycle_started_on=episode),  # level 2 already sent
    }
    accounts = {d: acc for d, (acc, _) in cases.items()}
    facts = {d: f for d, (_, f) in cases.items()}
    sent = {
        # Levels go up one at a time, at least 14 days apart: 1 and 2 went to dealer 1.
        1: [
            Letter(dealer_id=1, kind=Letter.Kind.REMINDER, level=1, issued_on=TODAY - 34 * DAY),
            Letter(dealer_id=1, kind=Letter.Kind.REMINDER, level=2, issued_on=TODAY - 20 * DAY),
        ],
        3: [Letter(dealer_id=3, kind=Letter.Kind.REMINDER, level=2, issued_on=TODAY - 2 * DAY)],
    }

    with django_assert_num_queries(0):
        decisions = issue_letters(accounts, facts, sent, today=TODAY, policy=policy)

    assert [(x.dealer_id, x.kind, x.level) for x in decisions.letters] == [
        (1, Letter.Kind.FINAL_DEMAND, 3)
    ]
    assert decisions.letters[0].deadline == D(2026, 3, 24)


# Running twice, batches and claims ---------------------------------------------------------


def varied_ledger(today: dt.date = TODAY) -> None:
    """Dealers in every situation the sweep acts on."""
    collector = UserFactory(role="collector")
    overdue_dealer(today=today, days=1)
    overdue_dealer(today=today, days=35, collector=collector)
    overdue_dealer(today=today, days=61, stage=Stage.SOFT, cycle_started_on=today - 60 * DAY)
    paid = overdue_dealer(today=today, days=10, stage=Stage.REMINDER, cycle_started_on=today)
    pay(paid, "1000.00", today - DAY)
    broken = overdue_dealer(today=today, days=20, collector=collector)
    promise(broken, amount="300.00", due_on=today - DAY, made_on=today - 5 * DAY)
    promise(
        broken,
        amount="200.00",
        due_on=today - 20 * DAY,
        made_on=today - 25 * DAY,
        status="broken",
        checked_on=today - 19 * DAY,
    )
    old = overdue_dealer(today=today, days=3 * 365, stage=Stage.SOFT, cycle_started_on=today)
    Letter.objects.create(
        dealer=old,
        kind=Letter.Kind.FINAL_DEMAND,
        level=3,
        issued_on=today - 60 * DAY,
        cycle_started_on=today,
        amount=old.orders.get().amount,
        deadline=today - 46 * DAY,
        interest_rate_percent="12.00",
    )
    overdue_dealer(today=today, days=-5)


def test_running_the_sweep_twice_for_a_date_changes_nothing_the_second_time():
    varied_ledger()
    first = sweep()
    assert first.counts["promises_broken"] == 1
    assert first.counts["interest_charges"] == 1
    assert first.counts["alerts_limitation"] == 1
    before = table_counts()

    second = sweep()

    assert second.done == []
    assert second.skipped == first.done
    assert table_counts() == before


def test_even_without_its_claims_a_second_sweep_of_the_date_changes_nothing():
    """The decisions themselves are idempotent for a date: the claims only save work."""
    varied_ledger()
    sweep()
    before = table_counts()
    SweepBatch.objects.all().delete()

    again = sweep()

    assert again.counts == {}
    assert table_counts() == before


def test_dealers_are_split_into_batches_by_id_and_each_batch_is_claimed_once():
    dealers = [overdue_dealer(today=TODAY, days=5) for _ in range(7)]
    expected = sorted({d.pk // 3 for d in dealers})

    summary = run_sweep(today=TODAY, batch_size=3)

    assert batch_numbers(batch_size=3) == expected
    assert summary.done == expected
    claims = SweepBatch.objects.filter(business_date=TODAY).order_by("number")
    assert [c.number for c in claims] == expected
    for claim in claims:
        assert (claim.first_dealer_id, claim.last_dealer_id) == (
            3 * claim.number,
            3 * claim.number + 2,
        )
    assert sum(c.summary["dealers"] for c in claims) == 7
    assert all(stage_of(d) == Stage.REMINDER for d in dealers)


def test_a_date_swept_with_one_batch_size_refuses_another():
    overdue_dealer(today=TODAY, days=5)
    run_sweep(today=TODAY, batch_size=3)

    with pytest.raises(BatchSizeMismatch):
        run_sweep(today=TODAY, batch_size=5)


def test_a_new_date_is_swept_again():
    dealer = overdue_dealer(today=TODAY, days=29, stage=Stage.REMINDER, cycle_started_on=TODAY)
    sweep()
    sweep(TODAY + DAY)

    assert stage_of(dealer) == Stage.SOFT
    assert SweepBatch.objects.count() == 2


def test_queries_grow_with_batches_not_with_dealers(monkeypatch):
    if connection.vendor == "sqlite":
        # Django 5.2 assumes SQLite's old 999-variable default and splits bulk inserts of
        # wide history rows into chunks of ~60; the SQLite linked here allows far more.
        import sqlite3

        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        monkeypatch.setattr(connection.features, "max_query_params", limit)
    CollectionPolicy.current()

    expected_small = dealers_in_every_situation(30, TODAY)
    with CaptureQueriesContext(connection) as few:
        small = sweep()
    expected_large = dealers_in_every_situation(90, TODAY + DAY)
    with CaptureQueriesContext(connection) as many:
        large = sweep(TODAY + DAY)

    assert (small.dealers, small.counts) == (30, expected_small)
    # The 30 dealers of the first day are swept again, with nothing left to do.
    assert (large.dealers, large.counts) == (120, expected_large)
    assert len(many) == len(few), "\n".join(q["sql"][:120] for q in many.captured_queries)


def test_a_batch_costs_a_fixed_number_of_queries_when_there_is_nothing_to_do():
    for _ in range(5):
        overdue_dealer(today=TODAY, days=-3)
    sweep()  # opens the accounts
    with CaptureQueriesContext(connection) as queries:
        sweep(TODAY + DAY)
    # Per run: claims of the date, policy, batch list. Per batch: the transaction (a
    # savepoint here, inside the test's), the claim (savepoint, insert, release), dealers
    # without an account, locked accounts, the kept figures gone stale (none here), facts,
    # open promises, the claim's summary.
    assert len(queries) == 3 + 11


# The command --------------------------------------------------------------------------------


def test_command_sweeps_the_given_date_and_prints_each_batch():
    dealer = overdue_dealer(today=TODAY, days=8)
    out = StringIO()

    call_command("run_collection_sweep", "--as-of", "2026-03-10", stdout=out)

    text = out.getvalue()
    assert "Sweeping 2026-03-10" in text
    assert f"batch {dealer.pk // 500}: 1 dealers" in text
    assert "moved_to_reminder: 1" in text
    assert stage_of(dealer) == Stage.REMINDER


def test_command_run_twice_reports_the_batches_as_already_done():
    overdue_dealer(today=TODAY, days=8)
    call_command("run_collection_sweep", "--as-of", "2026-03-10", stdout=StringIO())
    before = table_counts()
    out = StringIO()

    call_command("run_collection_sweep", "--as-of", "2026-03-10", stdout=out)

    assert "already done, skipped" in out.getvalue()
    assert "0 batches done, 1 already done" in out.getvalue()
    assert table_counts() == before


def test_command_rejects_a_malformed_date():
    with pytest.raises(CommandError):
        call_command("run_collection_sweep", "--as-of", "10.03.2026", stdout=StringIO())


@pytest.mark.parametrize(
    ("utc", "business_date"),
    [
        # 00:30 CET, before the clocks go forward at 02:00 on 29 March.
        (dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), D(2026, 3, 29)),
        # 00:30 CEST the night after: the zone's offset is two hours now.
        (dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC), D(2026, 3, 30)),
        (dt.datetime(2026, 3, 29, 21, 30, tzinfo=dt.UTC), D(2026, 3, 29)),
    ],
)
def test_command_defaults_to_today_in_the_business_zone_across_daylight_saving(utc, business_date):
    DealerFactory()
    with time_machine.travel(utc, tick=False):
        assert business_today() == business_date
        out = StringIO()
        call_command("run_collection_sweep", stdout=out)
    assert f"Sweeping {business_date:%Y-%m-%d}" in out.getvalue()
    assert SweepBatch.objects.get().business_date == business_date


# Scheduling ---------------------------------------------------------------------------------


def test_beat_starts_the_sweep_every_day_at_six_business_time():
    entry = settings.CELERY_BEAT_SCHEDULE["every-day-0600-collection-sweep"]
    assert entry["task"] == "dunning.tasks.start_daily_sweep"
    assert entry["schedule"] == crontab(hour=6, minute=0)
    assert celery_app.conf.timezone == settings.BUSINESS_TIME_ZONE == "Europe/Berlin"
    assert "dunning.tasks.start_daily_sweep" in celery_app.tasks


def test_beat_runs_at_six_local_on_the_day_the_clocks_go_forward():
    now = dt.datetime(2026, 3, 28, 12, 0, tzinfo=BERLIN)
    schedule = crontab(hour=6, minute=0, app=celery_app, nowfun=lambda: now)

    wait = schedule.remaining_estimate(dt.datetime(2026, 3, 28, 6, 0, tzinfo=BERLIN))
    next_run = (now.astimezone(dt.UTC) + wait).astimezone(BERLIN)

    # 17 real hours, not 18: 06:00 summer time, which is 04:00 UTC.
    assert wait == dt.timedelta(hours=17)
    assert (next_run.date(), next_run.hour, next_run.utcoffset()) == (
        D(2026, 3, 29),
        6,
        dt.timedelta(hours=2),
    )


def test_start_task_enqueues_the_batches_not_done_yet_after_commit(monkeypatch):
    sent: list[tuple] = []
    monkeypatch.setattr(tasks.sweep_batch, "delay_on_commit", lambda *args: sent.append(args))
    dealers = [overdue_dealer(today=TODAY, days=5) for _ in range(4)]
    numbers = sorted({d.pk // 2 for d in dealers})
    run_sweep(today=TODAY, batch_size=2, batches=numbers[:1])

    enqueued = tasks.start_daily_sweep("2026-03-10", 2)

    assert enqueued == numbers[1:]
    assert sent == [("2026-03-10", n, 2) for n in numbers[1:]]


def test_start_task_defaults_to_today_in_the_business_zone(monkeypatch):
    monkeypatch.setattr(tasks.sweep_batch, "delay_on_commit", lambda *args: None)
    dealer = DealerFactory()
    number = dealer.pk // 500
    first, last = batch_range(number, 500)
    # The day before is done; the task must not mistake it for today.
    SweepBatch.objects.create(
        business_date=D(2026, 3, 28), number=number, first_dealer_id=first, last_dealer_id=last
    )
    with time_machine.travel(dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC), tick=False):
        # 06:00 in Berlin on the morning the clocks went forward: the 29th, not yet swept.
        assert tasks.start_daily_sweep() == [number]
        assert timezone.now().astimezone(BERLIN).hour == 6


def test_batch_task_sweeps_its_batch_and_a_repeat_does_nothing():
    dealer = overdue_dealer(today=TODAY, days=5)
    number = dealer.pk // 500

    first = tasks.sweep_batch.apply(args=["2026-03-10", number, 500]).get()
    again = tasks.sweep_batch.apply(args=["2026-03-10", number, 500]).get()

    assert first["done"] is True and first["counts"]["moved_to_reminder"] == 1
    assert again["done"] is False
    assert SweepBatch.objects.get().summary["counts"] == first["counts"]
    assert CollectionAccount.objects.get(dealer=dealer).stage == Stage.REMINDER

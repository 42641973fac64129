"""Promise checks: kept, partly kept or broken, the day after a promise's date."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from dunning.calendar import next_business_day_on_or_after, suggested_window
from dunning.figures import DealerFacts
from dunning.models import CollectionPolicy, Promise, Task
from dunning.models.stages import NOT_CALLED_STAGES
from dunning.sweep import rules
from receivables.models import Payment


@dataclass
class PromiseDecisions:
    # Open promises decided today, their status, money and reason set.
    decided: list[Promise] = field(default_factory=list)
    # A call on the next business day for each broken or partly kept one, unless the
    # account is with lawyers, an agency or written off (`NOT_CALLED_STAGES`).
    follow_ups: list[Task] = field(default_factory=list)
    # By dealer: the broken promises in the window, when they are enough to propose hard.
    hard_reasons: dict[int, str] = field(default_factory=dict)


def check_promises(
    *,
    first: int,
    last: int,
    facts: Mapping[int, DealerFacts],
    settled: set[int],
    today: dt.date,
    policy: CollectionPolicy,
) -> PromiseDecisions:
    """Decide the promises of dealers `first`..`last` whose day has passed (DOMAIN.md
    line 8), and all open promises of accounts `settled` today (nothing is owed, so they
    count as kept)."""
    decisions = PromiseDecisions()
    to_decide: dict[int, list[tuple[Promise, dt.date]]] = defaultdict(list)
    for promise in Promise.objects.filter(
        dealer_id__gte=first, dealer_id__lte=last, status=Promise.Status.OPEN
    ).order_by("due_on", "pk"):
        if promise.dealer_id in settled:
            to_decide[promise.dealer_id].append((promise, min(promise.due_on, today)))
        elif promise.due_on < today:
            to_decide[promise.dealer_id].append((promise, promise.due_on))
    if not to_decide:
        return decisions

    window_start = today - dt.timedelta(days=policy.broken_promise_window_days)
    earliest = min(p.made_on for checks in to_decide.values() for p, _ in checks)
    decided_before: dict[int, list[Promise]] = defaultdict(list)
    for promise in (
        Promise.objects.filter(
            dealer_id__in=list(to_decide), due_on__gte=min(earliest, window_start)
        )
        .exclude(status=Promise.Status.OPEN)
        .order_by("due_on", "pk")
    ):
        decided_before[promise.dealer_id].append(promise)
        earliest = min(earliest, promise.made_on)
    payments: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for dealer_id, received_on, amount in Payment.objects.filter(
        dealer_id__in=list(to_decide), received_on__gte=earliest, received_on__lte=today
    ).values_list("dealer_id", "received_on", "amount"):
        payments[dealer_id].append((received_on, amount))

    window = suggested_window(policy)
    for dealer_id, checks in to_decide.items():
        windows = [
            rules.PromiseWindow(p.made_on, p.due_on, p.received_amount, None)
            for p in decided_before[dealer_id]
        ]
        windows += [rules.PromiseWindow(p.made_on, closes, p.amount, p.pk) for p, closes in checks]
        counted = rules.count_promise_money(windows, payments[dealer_id])
        newly_broken = []
        for promise, _closes in checks:
            received = counted[promise.pk]
            status: str
            if dealer_id in settled:
                status = Promise.Status.KEPT
                why = "kept: nothing is past due any more"
            else:
                status = rules.promise_outcome(promise.amount, received)
                why = f"{Promise.Status(status).label.lower()}: received {received:.2f}"
            promise.status = status
            promise.received_amount = received
            promise.checked_on = today
            promise._change_reason = f"checked by the daily sweep, {why}"  # type: ignore[attr-defined]
            decisions.decided.append(promise)
            if promise.is_broken:
                newly_broken.append(promise)
                if facts[dealer_id].stage not in NOT_CALLED_STAGES:
                    decisions.follow_ups.append(
                        _follow_up(promise, received, facts[dealer_id], today=today, window=window)
                    )
        if newly_broken:
            before = [
                p
                for p in decided_before[dealer_id]
                if p.is_broken and window_start <= p.due_on < today
            ]
            broken = before + newly_broken
            if len(broken) >= policy.broken_promises_for_hard:
                decisions.hard_reasons[dealer_id] = (
                    f"{len(broken)} broken promises within "
                    f"{policy.broken_promise_window_days} days: "
                    + ", ".join(rules.describe_promise(p) for p in broken)
                )
    return decisions


def _follow_up(
    promise: Promise,
    received: Decimal,
    facts: DealerFacts,
    *,
    today: dt.date,
    window: tuple[dt.time, dt.time],
) -> Task:
    outcome = "partly kept" if received > 0 else "broken"
    return Task(
        dealer_id=promise.dealer_id,
        assignee_id=facts.collector_id,
        kind=Task.Kind.CALL,
        due_on=next_business_day_on_or_after(facts.country, today),
        window_from=window[0],
        window_to=window[1],
        reason=(
            f"{rules.describe_promise(promise).capitalize()} was {outcome}: received "
            f"{received:.2f} of {promise.amount:.2f}. Ask for the rest: a date and an amount."
        ),
        source_key=f"promise-broken:{promise.pk}",
    )

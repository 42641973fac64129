"""The sweep's rules as pure functions: given dates, amounts and the policy they answer
what is due. The steps of `dunning.sweep.steps` load the facts for many dealers at once
and ask these functions; `dunning.sweep.writer` writes the answers in bulk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from dunning.models import CollectionPolicy, Letter, Promise
from receivables.dates import add_years
from receivables.models import CENT, ZERO

FINAL_DEMAND_LEVEL = 3


# Promises ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseWindow:
    """A promise as the money count sees it: money received in [opens, closes] counts for
    it, up to `wants`. `key` is the id of a promise being decided now, None for one decided
    before (it takes what it recorded)."""

    opens: dt.date
    closes: dt.date
    wants: Decimal
    key: int | None


def count_promise_money(
    windows: Iterable[PromiseWindow], payments: Iterable[tuple[dt.date, Decimal]]
) -> dict[int, Decimal]:
    """Money counted for each promise being decided, so that no payment counts twice.

    Promises take their turn in the order they fall due; each takes, oldest payment first,
    from money received in its window that earlier promises have not already taken.
    Promises decided on an earlier day take what they recorded then, so the count of a
    day never takes their money again.
    """
    received = sorted(payments)
    days = [day for day, _ in received]
    left = [amount for _, amount in received]
    counted: dict[int, Decimal] = {}
    for window in sorted(windows, key=lambda w: (w.closes, w.opens, w.key is not None)):
        wanted = window.wants
        taken = ZERO
        for i, day in enumerate(days):
            if wanted <= 0:
                break
            if day < window.opens or day > window.closes or left[i] <= 0:
                continue
            share = min(left[i], wanted)
            left[i] -= share
            wanted -= share
            taken += share
        if window.key is not None:
            counted[window.key] = taken
    return counted


def promise_outcome(amount: Decimal, received: Decimal) -> str:
    """Kept in full, partly kept (still broken for the rest: "Partial payments",
    docs/PRACTICE.md §17), broken."""
    if received >= amount:
        return Promise.Status.KEPT
    if received > 0:
        return Promise.Status.PARTLY_KEPT
    return Promise.Status.BROKEN


def describe_promise(promise: Promise) -> str:
    return f"promise #{promise.pk} ({promise.amount:.2f} due {promise.due_on:%Y-%m-%d})"


# Letters --------------------------------------------------------------------------------


def letter_level_due(days_past_due: int, policy: CollectionPolicy) -> int:
    """The highest letter the age of the oldest overdue order calls for: 1 and 2 are
    reminders, 3 the final demand with the written interest notice; 0 none yet."""
    if days_past_due >= policy.final_demand_days:
        return FINAL_DEMAND_LEVEL
    if days_past_due >= policy.reminder_level2_days:
        return 2
    if days_past_due >= policy.reminder_level1_days:
        return 1
    return 0


def next_letter_level(
    *,
    days_past_due: int,
    sent_level: int,
    last_sent_on: dt.date | None,
    today: dt.date,
    policy: CollectionPolicy,
) -> int:
    """The letter to send today, or 0: one level above the last sent in the episode, when
    the age of the oldest overdue order calls for it and the last letter went at least
    `policy.letter_spacing_days` ago. A dealer first seen far overdue (an imported book)
    gets the first reminder first, never the final demand as a first letter."""
    if letter_level_due(days_past_due, policy) <= sent_level:
        return 0
    if last_sent_on is not None and (today - last_sent_on).days < policy.letter_spacing_days:
        return 0
    return sent_level + 1


def letter_kind(level: int) -> str:
    return Letter.Kind.FINAL_DEMAND if level == FINAL_DEMAND_LEVEL else Letter.Kind.REMINDER


# Interest -------------------------------------------------------------------------------


def interest_period(
    *,
    today: dt.date,
    deadline: dt.date,
    last_period_to: dt.date | None,
    posting_days: int,
) -> tuple[dt.date, dt.date] | None:
    """The days to charge interest for today, both included, or None if nothing is due.

    Interest runs from the day after the notice's deadline up to yesterday (the last full
    day). The first charge goes as soon as a full day has run; later ones at most every
    `posting_days` days after the previous posting, continuing where it stopped.
    """
    period_to = today - dt.timedelta(days=1)
    if last_period_to is None:
        period_from = deadline + dt.timedelta(days=1)
    else:
        last_posted_on = last_period_to + dt.timedelta(days=1)
        if today < last_posted_on + dt.timedelta(days=posting_days):
            return None
        period_from = last_period_to + dt.timedelta(days=1)
    if period_to < period_from:
        return None
    return period_from, period_to


def interest_amount(principal: Decimal, rate_percent: Decimal, days: int) -> Decimal:
    """Simple interest on an actual/365 basis, rounded half up to the cent."""
    raw = principal * rate_percent / Decimal(100) * Decimal(days) / Decimal(365)
    return raw.quantize(CENT, rounding=ROUND_HALF_UP)


# Limitation -----------------------------------------------------------------------------


def limitation_clock_start(oldest_due_on: dt.date, *acknowledged_on: dt.date | None) -> dt.date:
    """The limitation clock of the oldest overdue order runs from its due date, restarted
    by the dealer's last acknowledgment of the debt: a payment, a promise or a confirmed
    reconciliation letter (`dunning.figures.ACKNOWLEDGMENTS`)."""
    return max(d for d in (oldest_due_on, *acknowledged_on) if d is not None)


def limitation_warning_from(clock_start: dt.date, policy: CollectionPolicy) -> dt.date:
    ends_on = add_years(clock_start, policy.limitation_years)
    return ends_on - dt.timedelta(days=policy.limitation_warning_days)

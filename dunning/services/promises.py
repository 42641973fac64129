"""Promises to pay and installment plans ("Promises are pinned down", docs/PRACTICE.md §8; "Partial
payments", docs/PRACTICE.md §17): a date and an amount, pinned down on the spot; a date on a weekend
or public holiday of the dealer's country moves to the next business day, and both dates are
kept.

A promise that makes no sense is refused, here so that the API and the pages agree: one
for more than the dealer's open balance today (for a plan, its installments together),
or due more than `PROMISE_HORIZON_YEARS` ahead (a year: beyond that it pins nothing
down)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from dunning.calendar import next_business_day_on_or_after
from dunning.models import InstallmentPlan, Promise
from dunning.models.promises import reliability_percent
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import InvalidInput
from receivables.dates import add_years
from receivables.models import ZERO, Dealer
from receivables.validation import CENT, money_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import User


# How far ahead a promise may fall due.
PROMISE_HORIZON_YEARS = 1


def check_amount(field: str, value: Any) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidInput(field, "This is not an amount.") from None
    problem = money_problem(amount)
    if problem:
        raise InvalidInput(field, f"The amount {problem}.")
    return amount.quantize(CENT)


def check_due_on(field: str, due_on: dt.date, today: dt.date) -> None:
    if due_on < today:
        raise InvalidInput(field, f"The date is in the past (today is {today:%Y-%m-%d}).")
    horizon = add_years(today, PROMISE_HORIZON_YEARS)
    if due_on > horizon:
        raise InvalidInput(
            field,
            _(
                "The date is more than a year ahead (at the latest %(latest)s): "
                "pin down a nearer date, or agree an installment plan."
            )
            % {"latest": f"{horizon:%Y-%m-%d}"},
        )


def open_balance(dealer: Dealer, today: dt.date) -> Decimal:
    """The dealer's balance at the end of `today` (the kept figures), in one query."""
    row = Dealer.objects.filter(pk=dealer.pk).with_balance(today).first()
    balance = getattr(row, "balance", None)
    return balance if isinstance(balance, Decimal) else ZERO


def check_within_balance(field: str, amount: Decimal, dealer: Dealer, today: dt.date) -> None:
    """Refuse a promised amount above what the dealer owes today."""
    balance = open_balance(dealer, today)
    if amount > balance:
        raise InvalidInput(
            field,
            _(
                "%(amount)s %(currency)s is more than the dealer owes "
                "(%(balance)s %(currency)s open today)."
            )
            % {
                "amount": f"{amount:,.2f}",
                "balance": f"{balance:,.2f}",
                "currency": dealer.currency,
            },
        )


@transaction.atomic
def make_promise(
    *,
    dealer: Dealer,
    amount: Decimal,
    due_on: dt.date,
    note: str = "",
    by: User | None,
    today: dt.date,
    plan: InstallmentPlan | None = None,
) -> Promise:
    """Record a promise made today. `due_on` is the date the dealer named; the promise
    falls due on the first business day of the dealer's country on or after it."""
    require(by, "dunning.add_promise")
    amount = check_amount("amount", amount)
    check_due_on("due_on", due_on, today)
    if plan is None:  # a plan's installments were checked together
        check_within_balance("amount", amount, dealer, today)
    promise = Promise(
        dealer=dealer,
        plan=plan,
        amount=amount,
        requested_due_on=due_on,
        due_on=next_business_day_on_or_after(dealer.country, due_on),
        made_on=today,
        made_by=by,
        note=check_text("note", note, required=False),
    )
    stamp(promise, by=by, reason="Promise to pay recorded")
    promise.save()
    return promise


@transaction.atomic
def make_installment_plan(
    *,
    dealer: Dealer,
    installments: list[tuple[Decimal, dt.date]],
    note: str = "",
    by: User | None,
    today: dt.date,
) -> InstallmentPlan:
    """A series of promises agreed in one conversation, created together or not at all.
    Two installments may not fall due on the same business day."""
    require(by, "dunning.add_promise")
    if len(installments) < 2:
        raise InvalidInput("installments", "A plan needs at least two installments.")
    checked: list[tuple[Decimal, dt.date]] = []
    seen: dict[dt.date, int] = {}
    for index, (amount, due_on) in enumerate(installments):
        checked.append((check_amount(f"installments.{index}.amount", amount), due_on))
        check_due_on(f"installments.{index}.due_on", due_on, today)
        business_day = next_business_day_on_or_after(dealer.country, due_on)
        if business_day in seen:
            raise InvalidInput(
                f"installments.{index}.due_on",
                f"Falls due on {business_day:%Y-%m-%d} like installment {seen[business_day] + 1}.",
            )
        seen[business_day] = index
    total = sum((amount for amount, _ in checked), ZERO)
    check_within_balance("installments", total, dealer, today)
    plan = InstallmentPlan(
        dealer=dealer, made_on=today, made_by=by, note=check_text("note", note, required=False)
    )
    stamp(plan, by=by, reason="Installment plan agreed")
    plan.save()
    for number, (amount, due_on) in enumerate(sorted(checked, key=lambda pair: pair[1]), 1):
        make_promise(
            dealer=dealer,
            amount=amount,
            due_on=due_on,
            note=f"Installment {number} of {len(checked)}",
            by=by,
            today=today,
            plan=plan,
        )
    return plan


def promise_reliability(dealer: Dealer, *, today: dt.date) -> Decimal | None:
    """Kept promises as a percent of the decided ones (kept, partly kept, broken) that
    fell due in the twelve months up to `today`; None when there are none. A partly kept
    promise counts as not kept ("Partial payments", docs/PRACTICE.md §17). The rule is
    the Promise QuerySet's (`counted_for_reliability`), shared with the forecast."""
    kept, decided = Promise.objects.filter(dealer=dealer).reliability_counts(today)
    return reliability_percent(kept, decided)


__all__ = ["make_installment_plan", "make_promise", "promise_reliability"]

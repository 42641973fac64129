"""Promises to pay and installment plans ("Promises are pinned down", docs/PRACTICE.md §8; "Partial
payments", docs/PRACTICE.md §17): a date and an amount, pinned down on the spot; a date on a weekend
or public holiday of the dealer's country moves to the next business day, and both dates are
kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.db import transaction

from dunning.calendar import next_business_day_on_or_after
from dunning.models import InstallmentPlan, Promise
from dunning.models.promises import reliability_percent
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import InvalidInput
from receivables.models import Dealer
from receivables.validation import CENT, money_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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

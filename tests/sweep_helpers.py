"""Builders and snapshots shared by the daily-sweep tests."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.apps import apps

from dunning.models import CollectionAccount, Letter, Promise, Stage
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer, Order, Payment
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory

D = dt.date
DAY = dt.timedelta(days=1)


def overdue_dealer(
    *,
    today: dt.date,
    days: int,
    amount: str = "1000.00",
    stage: Stage | None = None,
    cycle_started_on: dt.date | None = None,
    **dealer_fields: object,
) -> Dealer:
    """A dealer whose one order is `days` past due on `today` (not yet due when days <= 0),
    with an account in `stage` if given (none: the sweep opens it)."""
    dealer = DealerFactory(**dealer_fields)
    due_on = today - dt.timedelta(days=days)
    OrderFactory(
        dealer=dealer,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )
    if stage is not None:
        CollectionAccount.objects.create(
            dealer=dealer, stage=stage, cycle_started_on=cycle_started_on
        )
    return dealer


def pay(dealer: Dealer, amount: str, on: dt.date) -> Payment:
    """Money received and allocated as the ledger rule says (oldest due first)."""
    payment = PaymentFactory(dealer=dealer, amount=Decimal(amount), received_on=on)
    reallocate_dealers([dealer.pk])
    return payment


def promise(
    dealer: Dealer,
    *,
    amount: str,
    due_on: dt.date,
    made_on: dt.date,
    requested_due_on: dt.date | None = None,
    **fields: object,
) -> Promise:
    return Promise.objects.create(
        dealer=dealer,
        amount=Decimal(amount),
        due_on=due_on,
        requested_due_on=requested_due_on or due_on,
        made_on=made_on,
        **fields,
    )


def account(dealer: Dealer) -> CollectionAccount:
    return CollectionAccount.objects.get(dealer=dealer)


def stage_of(dealer: Dealer) -> str:
    return account(dealer).stage


def table_counts() -> dict[str, int]:
    """Rows in every table of the two apps, history tables included."""
    return {
        model._meta.label: model._default_manager.count()
        for app in ("receivables", "dunning")
        for model in apps.get_app_config(app).get_models()
    }


def interest_orders(dealer: Dealer) -> list[Order]:
    return list(dealer.orders.filter(kind=Order.Kind.INTEREST).order_by("ordered_on"))


def dealers_in_every_situation(n: int, today: dt.date) -> Counter[str]:
    """`n` dealers, a quarter in each situation below, so that every kind of write of the
    sweep happens on `today`. Returns the counts the sweep should report."""
    collector = UserFactory(role="collector")
    expected: Counter[str] = Counter()
    for i in range(n):
        kind = i % 4
        if kind == 0:
            # No account yet, 61 days late: opened, reminder, soft, the first reminder (levels
            # go up one at a time), proposal.
            overdue_dealer(today=today, days=61, collector=collector)
            expected.update(
                (
                    "accounts_opened",
                    "moved_to_reminder",
                    "moved_to_soft",
                    "letters_reminder_1",
                    "escalations_proposed",
                    "alerts_escalation",
                )
            )
        elif kind == 1:
            # Soft, the notice's deadline passed, a second broken promise.
            dealer = overdue_dealer(
                today=today, days=100, stage=Stage.SOFT, cycle_started_on=today, collector=collector
            )
            Letter.objects.create(
                dealer=dealer,
                kind=Letter.Kind.FINAL_DEMAND,
                level=3,
                issued_on=today - 60 * DAY,
                cycle_started_on=today,
                amount=Decimal("1000.00"),
                deadline=today - 46 * DAY,
                interest_rate_percent=Decimal("12.00"),
            )
            promise(dealer, amount="100.00", due_on=today - DAY, made_on=today - 9 * DAY)
            promise(
                dealer,
                amount="100.00",
                due_on=today - 30 * DAY,
                made_on=today - 40 * DAY,
                status=Promise.Status.BROKEN,
                checked_on=today - 29 * DAY,
            )
            expected.update(
                (
                    "promises_broken",
                    "tasks_call",
                    "interest_charges",
                    "escalations_proposed",
                    "alerts_escalation",
                )
            )
        elif kind == 2:
            # Paid up in reminder with an open promise: back to current, promise kept.
            dealer = overdue_dealer(
                today=today, days=10, stage=Stage.REMINDER, cycle_started_on=today
            )
            pay(dealer, "1000.00", today - DAY)
            promise(dealer, amount="1000.00", due_on=today + 3 * DAY, made_on=today - 3 * DAY)
            expected.update(("moved_to_current", "promises_kept"))
        else:
            # Three years late without a word since: the limitation period nears.
            overdue_dealer(today=today, days=3 * 365 - 60, stage=Stage.SOFT, cycle_started_on=today)
            expected.update(
                (
                    "letters_reminder_1",
                    "escalations_proposed",
                    "alerts_escalation",
                    "alerts_limitation",
                    "tasks_review",
                )
            )
    return expected

"""Builders and snapshots shared by the daily-sweep tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.apps import apps

from dunning.models import CollectionAccount, Promise, Stage
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer, Order, Payment
from tests.factories import DealerFactory, OrderFactory, PaymentFactory

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

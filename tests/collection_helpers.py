"""Helpers shared by the collection workflow tests: a dealer with an overdue order, an
account put straight into a stage, and a payment that clears the dealer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from dunning.models import CollectionAccount, Stage
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer
from tests.factories import DealerFactory, OrderFactory, PaymentFactory

# A Monday; 14:30 UTC is 15:30 in Berlin, inside the suggested call window.
TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)


def overdue_dealer(
    *, days: int = 40, amount: str = "1000.00", today: dt.date = TODAY, **fields: Any
) -> Dealer:
    """A dealer whose only order is `days` past due on `today` (0: due today)."""
    dealer = DealerFactory(**fields)
    due_on = today - dt.timedelta(days=days)
    OrderFactory(
        dealer=dealer,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )
    return dealer


def account_in(dealer: Dealer, stage: str = Stage.CURRENT) -> CollectionAccount:
    """The dealer's account, put straight into `stage` as if it had got there earlier."""
    return CollectionAccount.objects.create(dealer=dealer, stage=stage)


def pay_everything(dealer: Dealer, *, on: dt.date = TODAY) -> None:
    owed = sum(order.amount for order in dealer.orders.all())
    PaymentFactory(dealer=dealer, received_on=on, amount=owed)
    reallocate_dealers([dealer.pk])

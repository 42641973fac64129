"""`Dealer.objects.past_due_on(day)`: the cut by index the worklist makes before computing
figures. It must keep every dealer with something overdue on the day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from receivables.models import Dealer
from tests.collection_helpers import TODAY, overdue_dealer, pay_everything


def test_past_due_keeps_the_overdue_and_drops_the_paid_and_the_not_yet_due(db: Any) -> None:
    overdue = overdue_dealer(code="D-LATE", days=5)
    paid = overdue_dealer(code="D-PAID", days=5)
    pay_everything(paid)
    overdue_dealer(code="D-DUE-TODAY", days=0)

    found = set(Dealer.objects.past_due_on(TODAY).values_list("code", flat=True))

    assert found == {overdue.code}


def test_past_due_on_an_earlier_day_sees_what_was_open_then(db: Any) -> None:
    paid = overdue_dealer(code="D-PAID-LATER", days=20)
    pay_everything(paid, on=TODAY)

    yesterday = TODAY - dt.timedelta(days=1)
    assert list(Dealer.objects.past_due_on(yesterday).values_list("code", flat=True)) == [paid.code]
    assert not Dealer.objects.past_due_on(TODAY).exists()

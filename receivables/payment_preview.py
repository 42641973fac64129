"""Payments entered by hand on the finance desk: what saving one would do, and saving it.

The preview is the real allocation rule, not a second copy of it: `preview_payment` runs
`receivables.services.upsert_payment` inside a savepoint, reads the allocations the new
payment got and what the orders it touched have open after it, and rolls everything
back. `record_payment` then saves the same input through the same service, for a
reference not yet recorded: a hand entry never overwrites a payment the ERP sent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from receivables.models import ZERO, Allocation, Dealer, Order, Payment
from receivables.services import upsert_payment
from receivables.validation import received_on_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    Someone = User | AnonymousUser | None

# The reason history records for a payment entered on the finance desk; the desk lists
# recent hand entries by it.
HAND_ENTRY_REASON = "entered by hand on the finance desk"
# Orders a preview lists one by one; a payment that settles more says how many more.
PREVIEW_LINES = 100


@dataclass(frozen=True)
class PaymentEntry:
    """A payment as finance types it."""

    reference: str
    dealer: Dealer
    received_on: dt.date
    amount: Decimal
    method: str
    order: str | None = None  # the number of the order the dealer named


@dataclass(frozen=True)
class SettledOrder:
    """One order the payment pays: open before it, applied by it, open after it."""

    number: str
    due_on: dt.date
    open_before: Decimal
    applied: Decimal
    open_after: Decimal


@dataclass(frozen=True)
class PaymentPreview:
    entry: PaymentEntry
    orders: list[SettledOrder]
    # Allocations of the dealer's other payments that the new one moves (a payment dated
    # before others takes the orders they had paid, and they pay later orders instead).
    others_moved: int

    @property
    def shown_orders(self) -> list[SettledOrder]:
        """The orders a page lists (the totals count them all)."""
        return self.orders[:PREVIEW_LINES]

    @property
    def orders_not_shown(self) -> int:
        return max(0, len(self.orders) - PREVIEW_LINES)

    @property
    def applied(self) -> Decimal:
        return sum((line.applied for line in self.orders), ZERO)

    @property
    def credit(self) -> Decimal:
        """What no order takes: it stays with the dealer as credit for the next orders."""
        return self.entry.amount - self.applied


class _Undo(Exception):
    """Raised inside the preview's savepoint to roll the payment back, carrying what it
    would have done."""

    def __init__(self, applied: dict[int, Decimal], open_after: dict[int, Decimal], others: dict):
        super().__init__("preview")
        self.applied = applied
        self.open_after = open_after
        self.others = others


def preview_payment(entry: PaymentEntry, *, user: Someone, today: dt.date) -> PaymentPreview:
    """What recording `entry` would do, by the allocation rule itself, with nothing kept.
    Raises `ValidationError` (by field) for what `record_payment` would refuse."""
    _refuse_if_not_new(entry, today=today)
    others_before = _other_allocations(entry.dealer.pk, exclude_reference=entry.reference)
    try:
        with transaction.atomic():
            payment = _upsert(entry, user=user)
            applied = dict(
                Allocation.objects.filter(payment=payment).values_list("order_id", "amount")
            )
            raise _Undo(
                applied,
                _open_amounts(applied),
                _other_allocations(entry.dealer.pk, exclude_reference=entry.reference),
            )
    except _Undo as undone:
        applied, open_after, others_after = undone.applied, undone.open_after, undone.others
    open_before = _open_amounts(applied)
    # In the order the rule takes them: the named order, then the earliest due.
    facts = sorted(
        Order.objects.filter(pk__in=applied).only("pk", "number", "due_on", "ordered_on"),
        key=lambda o: (o.number != entry.order, o.due_on, o.ordered_on, o.number),
    )
    orders = [
        SettledOrder(
            number=order.number,
            due_on=order.due_on,
            open_before=open_before[order.pk],
            applied=applied[order.pk],
            open_after=open_after[order.pk],
        )
        for order in facts
    ]
    moved = sum(
        1
        for key in others_before.keys() | others_after.keys()
        if others_before.get(key) != others_after.get(key)
    )
    return PaymentPreview(entry=entry, orders=orders, others_moved=moved)


def _open_amounts(order_ids: dict[int, Decimal]) -> dict[int, Decimal]:
    """What each order has open after every allocation it has (in one query)."""
    rows = Order.objects.filter(pk__in=order_ids).with_paid()
    return {pk: open_amount for pk, open_amount in rows.values_list("pk", F("amount") - F("paid"))}


def _other_allocations(dealer_id: int, *, exclude_reference: str) -> dict:
    """The dealer's allocations other than those of `exclude_reference`."""
    rows = Allocation.objects.filter(payment__dealer_id=dealer_id).exclude(
        payment__reference=exclude_reference
    )
    return {
        (payment_id, order_id): (amount, applied_on)
        for payment_id, order_id, amount, applied_on in rows.values_list(
            "payment_id", "order_id", "amount", "applied_on"
        )
    }


@transaction.atomic
def record_payment(entry: PaymentEntry, *, user: Someone, today: dt.date) -> Payment:
    """Record a payment entered by hand and re-allocate its dealer's payments. Refused
    with a `ValidationError` by field for a reference already recorded, a day after
    `today`, or anything `upsert_payment` refuses (an order of another dealer, ...)."""
    _refuse_if_not_new(entry, today=today)
    try:
        payment = _upsert(entry, user=user)
    except IntegrityError:
        # Recorded by someone else between the check and the insert.
        raise ValidationError({"reference": [_reference_taken(entry)]}) from None
    if _latest_change(payment) == "~":
        # Recorded and committed by someone else just after the check: the service found
        # it and changed it. Raising undoes that change with this transaction.
        raise ValidationError({"reference": [_reference_taken(entry)]})
    return payment


def _latest_change(payment: Payment) -> str | None:
    """The kind of the payment's latest history record: "+" created, "~" changed."""
    latest = payment.history.order_by("-history_id").values_list("history_type", flat=True)  # type: ignore[attr-defined]
    return latest.first()


def _refuse_if_not_new(entry: PaymentEntry, *, today: dt.date) -> None:
    """A hand entry is a new payment that has arrived: never a correction of a recorded
    reference (the ERP's, or an earlier entry), never dated after today."""
    errors: dict[str, list[str]] = {}
    if received_on_problem(entry.received_on, today=today):
        errors["received_on"] = [
            gettext("A payment cannot be dated after today (%(today)s).")
            % {"today": today.isoformat()}
        ]
    if Payment.objects.filter(reference=entry.reference).exists():
        errors["reference"] = [_reference_taken(entry)]
    if errors:
        raise ValidationError(errors)


def _reference_taken(entry: PaymentEntry) -> str:
    return gettext(
        "A payment with the reference “%(reference)s” is recorded already; "
        "a reference is recorded once."
    ) % {"reference": entry.reference}


def _upsert(entry: PaymentEntry, *, user: Someone) -> Payment:
    return upsert_payment(
        reference=entry.reference,
        dealer=entry.dealer.code,
        received_on=entry.received_on,
        amount=entry.amount,
        order=entry.order,
        method=entry.method,
        user=user,
        reason=HAND_ENTRY_REASON,
    )

"""Ledger workflows: writing dealers, orders and payments pushed by the ERP.

The upserts are keyword-only and atomic. They check every rule first and raise one Django
`ValidationError` that maps field names to messages, so bad input changes nothing. They
save only what differs, so an identical second call writes no history row, and after an
order or payment they replay the allocation rule for every dealer it touched.

Optional arguments default to `KEEP`: on update the stored value stays as it is, on create
the model's default applies. That lets the ERP push its fields without erasing what the
collection team keeps in the application (a collector, a dispute).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, Literal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from receivables.allocation import forget_open_interval, reallocate_dealers
from receivables.models import ZERO, Dealer, DealerQuerySet, Order, OrderLine, Payment
from receivables.roles import Role
from receivables.validation import (
    as_sentence,
    country_problem,
    currency_problem,
    money_problem,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
Keep = Literal[_Keep.KEEP]


# --- Upserts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    product: str
    quantity: Decimal
    unit_price: Decimal


def save_changes(
    instance: models.Model,
    values: Mapping[str, Any],
    *,
    user: User | AnonymousUser | None,
    reason: str,
) -> bool:
    """Set `values` on the instance and save it, only when something differs (so that a
    repeated push leaves no history row). Returns whether it saved."""
    changed = instance._state.adding or any(
        getattr(instance, name) != value for name, value in values.items()
    )
    if not changed:
        return False
    for name, value in values.items():
        setattr(instance, name, value)
    _stamp(instance, user=user, reason=reason)
    instance.save()
    return True


def _stamp(instance: models.Model, *, user: User | AnonymousUser | None, reason: str) -> None:
    """Tell simple-history who made the change and why."""
    if user is not None and user.is_authenticated:
        instance._history_user = user  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]


def _check_amount(
    errors: dict[str, str], field: str, value: Decimal | None, *, zero_allowed: bool = False
) -> None:
    if value is None:
        return
    problem = money_problem(value, zero_allowed=zero_allowed)
    if problem:
        errors[field] = f"The amount {problem}."


def raise_if_errors(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})


@transaction.atomic
def upsert_dealer(
    *,
    code: str,
    name: str,
    country: str,
    currency: str,
    address: str | Keep = KEEP,
    postal_code: str | Keep = KEEP,
    city: str | Keep = KEEP,
    language: str | Keep = KEEP,
    phone: str | Keep = KEEP,
    region: str | Keep = KEEP,
    credit_limit: Decimal | Keep = KEEP,
    payment_terms_days: int | Keep = KEEP,
    collector: str | Keep | None = KEEP,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> Dealer:
    """Create the dealer `code` or bring it in line with these values.

    `collector` is a username; None removes the collector.
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "name": name,
        "country": country.upper(),
        "currency": currency.upper(),
    }
    for field in ("country", "currency"):
        check = country_problem if field == "country" else currency_problem
        problem = check(values[field])
        if problem:
            errors[field] = as_sentence(problem)
    optional = {
        "address": address,
        "postal_code": postal_code,
        "city": city,
        "language": language,
        "phone": phone,
        "region": region,
        "credit_limit": credit_limit,
        "payment_terms_days": payment_terms_days,
    }
    values.update({field: value for field, value in optional.items() if value is not KEEP})
    if credit_limit is not KEEP:
        _check_amount(errors, "credit_limit", credit_limit, zero_allowed=True)
    if payment_terms_days is not KEEP and payment_terms_days < 0:
        errors["payment_terms_days"] = "Must be zero or more."
    if collector is not KEEP:
        values["collector_id"] = None
        if collector is not None:
            found = (
                get_user_model()
                .objects.filter(username=collector, is_active=True)
                .values_list("pk", flat=True)
                .first()
            )
            if found is None:
                errors["collector"] = f"No active user '{collector}'."
            values["collector_id"] = found
    raise_if_errors(errors)

    dealer = Dealer.objects.select_for_update().filter(code=code).first() or Dealer(code=code)
    save_changes(dealer, values, user=user, reason=reason)
    return dealer


def _dealers_touched(item: Order | Payment, values: Mapping[str, Any]) -> list[int]:
    """The dealers whose allocations a write of this order or payment changes: its new
    dealer, and its former one when it moves to another."""
    touched = {values["dealer_id"]}
    if not item._state.adding:
        touched.add(item.dealer_id)
    return [dealer_id for dealer_id in touched if dealer_id is not None]


def _dealer_id_of(errors: dict[str, str], code: str) -> int | None:
    found = Dealer.objects.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        errors["dealer"] = f"Unknown dealer '{code}'."
    return found


@transaction.atomic
def upsert_order(
    *,
    number: str,
    dealer: str,
    ordered_on: dt.date,
    due_on: dt.date,
    amount: Decimal,
    disputed: bool | Keep = KEEP,
    dispute_reason: str | Keep = KEEP,
    disputed_amount: Decimal | Keep | None = KEEP,
    lines: Sequence[LineInput] | Keep = KEEP,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> Order:
    """Create the order `number` of dealer `dealer` (a code) or bring it in line with these
    values; `lines` replace the stored lines. Then re-allocate the payments of its dealer
    (and of its former dealer when it moves)."""
    errors: dict[str, str] = {}
    dealer_id = _dealer_id_of(errors, dealer)
    _check_amount(errors, "amount", amount)
    if due_on < ordered_on:
        errors["due_on"] = "The due date is before the order date."
    order = Order.objects.select_for_update().filter(number=number).first()
    if disputed_amount is not KEEP:
        _check_amount(errors, "disputed_amount", disputed_amount)
    kept_dispute = order.disputed_amount if order else None
    effective_dispute = kept_dispute if disputed_amount is KEEP else disputed_amount
    if effective_dispute is not None and effective_dispute > amount and "amount" not in errors:
        field = "amount" if disputed_amount is KEEP else "disputed_amount"
        errors[field] = f"The disputed amount {effective_dispute} exceeds the order amount."
    if lines is not KEEP:
        for index, line in enumerate(lines):
            if not line.product.strip():
                errors[f"lines.{index}.product"] = "Name the product."
            if line.quantity <= 0:
                errors[f"lines.{index}.quantity"] = "Must be more than zero."
            _check_amount(errors, f"lines.{index}.unit_price", line.unit_price, zero_allowed=True)
    if order is not None and dealer_id is not None and order.dealer_id != dealer_id:
        # A payment names an order of its own dealer; moving the order would break that.
        naming = list(
            order.named_payments.exclude(dealer_id=dealer_id).values_list("reference", flat=True)
        )
        if naming:
            errors["dealer"] = (
                f"Payments of the current dealer name this order ({', '.join(naming)}); "
                "move or correct them first."
            )
    raise_if_errors(errors)

    values: dict[str, Any] = {
        "dealer_id": dealer_id,
        "ordered_on": ordered_on,
        "due_on": due_on,
        "amount": amount,
    }
    optional = {
        "disputed": disputed,
        "dispute_reason": dispute_reason,
        "disputed_amount": disputed_amount,
    }
    values.update({field: value for field, value in optional.items() if value is not KEEP})
    order = order or Order(number=number)
    touched = _dealers_touched(order, values)
    if order.pk is not None and order.ordered_on != ordered_on:
        forget_open_interval(order)  # the reallocation below writes it again
    save_changes(order, values, user=user, reason=reason)
    if lines is not KEEP:
        _replace_lines(order, lines, user=user, reason=reason)
    reallocate_dealers(touched)
    return order


def _replace_lines(
    order: Order,
    lines: Sequence[LineInput],
    *,
    user: User | AnonymousUser | None,
    reason: str,
) -> None:
    stored = list(order.lines.order_by("id"))
    if [(s.product, s.quantity, s.unit_price) for s in stored] == [
        (line.product, line.quantity, line.unit_price) for line in lines
    ]:
        return
    # Row by row, so that every removed and added line has its history record.
    for line in stored:
        _stamp(line, user=user, reason=reason)
        line.delete()
    for line_input in lines:
        line = OrderLine(
            order=order,
            product=line_input.product,
            quantity=line_input.quantity,
            unit_price=line_input.unit_price,
        )
        _stamp(line, user=user, reason=reason)
        line.save()


@transaction.atomic
def upsert_payment(
    *,
    reference: str,
    dealer: str,
    received_on: dt.date,
    amount: Decimal,
    order: str | Keep | None = KEEP,
    method: str | Keep = KEEP,
    user: User | AnonymousUser | None = None,
    reason: str = "",
) -> Payment:
    """Create the payment `reference` from dealer `dealer` (a code) or bring it in line with
    these values, then re-allocate the payments of its dealer (and of its former dealer
    when it moves). `order` is the number of the order the dealer named, which must be
    one of its own; None removes it."""
    errors: dict[str, str] = {}
    dealer_id = _dealer_id_of(errors, dealer)
    _check_amount(errors, "amount", amount)
    if method is not KEEP and method not in Payment.Method.values:
        errors["method"] = f"Use one of: {', '.join(Payment.Method.values)}."
    payment = Payment.objects.select_for_update().filter(reference=reference).first()

    values: dict[str, Any] = {
        "dealer_id": dealer_id,
        "received_on": received_on,
        "amount": amount,
    }
    if method is not KEEP:
        values["method"] = method
    if order is None:
        values["order_id"] = None
    elif order is not KEEP:
        named = Order.objects.filter(number=order).values_list("pk", "dealer_id").first()
        if named is None:
            errors["order"] = f"Unknown order '{order}'."
        else:
            values["order_id"] = named[0]
            if dealer_id is not None and named[1] != dealer_id:
                errors["order"] = f"Order '{order}' belongs to another dealer."
    elif (
        payment is not None
        and payment.order is not None
        and dealer_id is not None
        and payment.order.dealer_id != dealer_id
    ):
        errors["order"] = (
            f"The named order '{payment.order.number}' belongs to the former dealer: "
            "name an order of the new dealer or null."
        )
    raise_if_errors(errors)

    payment = payment or Payment(reference=reference)
    touched = _dealers_touched(payment, values)
    save_changes(payment, values, user=user, reason=reason)
    reallocate_dealers(touched)
    return payment


def payment_unallocated(payment: Payment) -> Decimal:
    """The part of the payment no order has absorbed: dealer credit for the next orders."""
    applied = sum((a.amount for a in payment.allocations.all()), ZERO)
    return payment.amount - applied


# --- Portfolios -----------------------------------------------------------------------------

# Dealers written per statement when a portfolio moves: each chunk costs three queries
# (lock, update, history), whatever the number of dealers in it.
REASSIGN_CHUNK = 500


def collectors() -> models.QuerySet[User]:
    """The users a dealer may be given to: active users in the collector role."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.COLLECTOR.value)
        .order_by("username")
    )


@transaction.atomic
def reassign_dealers(
    *, dealers: DealerQuerySet, collector: User | None, by: User, reason: str
) -> int:
    """Give these dealers to `collector` (None: to nobody), and say who and why in each
    dealer's history. Returns the number of dealers whose collector changed.

    Only the dealers whose collector changes are written (a dealer already with
    `collector` gets no history row), in chunks of `REASSIGN_CHUNK` locked in the order
    of their ids (as `receivables.balances` locks them). Each chunk is one UPDATE and
    one INSERT of history rows (`bulk_history_create`, what simple-history's
    `bulk_update_with_history` writes too, with the user, the reason and one time):
    every dealer of a chunk gets the same two values, so a plain UPDATE says it, where
    `bulk_update` would build a CASE per dealer and field and spend most of the time
    compiling it. A portfolio of 40,000 dealers moves in a few hundred statements,
    never one per dealer. Which dealers `by` may see is the caller's check.
    """
    if not by.has_perm("receivables.change_dealer"):
        raise PermissionDenied(_("Your role may not reassign dealers."))
    errors: dict[str, str] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("Say why the dealers move.")
    elif "\x00" in reason:
        errors["reason"] = _("The text contains a NUL character.")
    if collector is not None and not collectors().filter(pk=collector.pk).exists():
        errors["collector"] = _("%(name)s is not an active collector.") % {
            "name": collector.get_username()
        }
    raise_if_errors(errors)

    target = collector.pk if collector is not None else None
    # Plain ids, whatever the caller annotated: the dealers whose collector differs.
    chosen = Dealer.objects.filter(pk__in=dealers.values("pk"))
    moving = chosen.exclude(collector=None) if target is None else chosen.exclude(collector=target)
    ids = list(moving.order_by("pk").values_list("pk", flat=True))
    now = timezone.now()
    moved = 0
    for start in range(0, len(ids), REASSIGN_CHUNK):
        locked = Dealer.objects.select_for_update(of=("self",)).filter(
            pk__in=ids[start : start + REASSIGN_CHUNK]
        )
        # Checked again under the lock: another reassignment may have been faster.
        changed = [dealer for dealer in locked.order_by("pk") if dealer.collector_id != target]
        for dealer in changed:
            dealer.collector_id = target
            dealer.updated_at = now
        # The history of the same rows, written just below in this transaction.
        Dealer.objects.filter(pk__in=[dealer.pk for dealer in changed]).update(
            collector_id=target, updated_at=now
        )
        Dealer.history.bulk_history_create(  # type: ignore[attr-defined]
            changed,
            update=True,
            default_user=by,
            default_change_reason=reason,
            default_date=now,
        )
        moved += len(changed)
    return moved

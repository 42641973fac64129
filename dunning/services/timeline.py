"""A dealer's history on one page: orders, payments, promises, contacts, letters and stage
changes, newest first. One query per kind, whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypedDict

from django.db import models

from dunning.calendar import dealer_zone
from dunning.models import ContactLog, Letter, Promise, StageChange
from receivables.models import Dealer, Order, Payment


class TimelineEntry(TypedDict):
    kind: str  # order, payment, promise, contact, letter, stage_change
    on: dt.date  # the business date it happened
    at: dt.datetime  # when it was recorded (for contacts: when the contact took place)
    id: int
    reference: str
    amount: Decimal | None
    summary: str
    by: str | None  # username; None for the ERP or the daily sweep
    object: models.Model


def _username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def timeline(dealer: Dealer, *, limit: int = 200) -> list[TimelineEntry]:
    """The newest `limit` entries of the dealer's history, newest first by business date,
    then by the time they were recorded."""
    zone = dealer_zone(dealer.country, dealer.time_zone)
    entries: list[TimelineEntry] = []
    for order in Order.objects.filter(dealer=dealer).order_by("-ordered_on", "-id")[:limit]:
        entries.append(
            {
                "kind": "order",
                "on": order.ordered_on,
                "at": order.created_at,
                "id": order.pk,
                "reference": order.number,
                "amount": order.amount,
                "summary": (
                    f"{order.get_kind_display()} {order.number} for {order.amount:.2f}, "
                    f"due {order.due_on:%Y-%m-%d}" + (" (disputed)" if order.disputed else "")
                ),
                "by": None,
                "object": order,
            }
        )
    for payment in Payment.objects.filter(dealer=dealer).order_by("-received_on", "-id")[:limit]:
        entries.append(
            {
                "kind": "payment",
                "on": payment.received_on,
                "at": payment.created_at,
                "id": payment.pk,
                "reference": payment.reference,
                "amount": payment.amount,
                "summary": (
                    f"Payment {payment.reference} of {payment.amount:.2f} "
                    f"({payment.get_method_display().lower()})"
                ),
                "by": None,
                "object": payment,
            }
        )
    promises = (
        Promise.objects.filter(dealer=dealer)
        .select_related("made_by")
        .order_by("-made_on", "-created_at", "-id")[:limit]
    )
    for promise in promises:
        moved = f" (asked {promise.requested_due_on:%Y-%m-%d})" if promise.was_moved else ""
        entries.append(
            {
                "kind": "promise",
                "on": promise.made_on,
                "at": promise.created_at,
                "id": promise.pk,
                "reference": f"promise {promise.pk}",
                "amount": promise.amount,
                "summary": (
                    f"Promise of {promise.amount:.2f} by {promise.due_on:%Y-%m-%d}{moved}: "
                    f"{promise.get_status_display().lower()}"
                ),
                "by": _username(promise.made_by),
                "object": promise,
            }
        )
    contacts = (
        ContactLog.objects.filter(dealer=dealer)
        .select_related("logged_by", "excuse", "person")
        .order_by("-at", "-id")[:limit]
    )
    for contact in contacts:
        parts = [f"{contact.get_channel_display()}: {contact.get_outcome_display().lower()}"]
        if contact.person is not None:
            parts.append(f"with {contact.person.name}")
        if contact.excuse is not None:
            parts.append(f"excuse \u201c{contact.excuse.text}\u201d")
        if contact.broken_rule:
            parts.append(f"broke the rule: {contact.broken_rule}")
        entries.append(
            {
                "kind": "contact",
                "on": contact.at.astimezone(zone).date(),
                "at": contact.at,
                "id": contact.pk,
                "reference": f"contact {contact.pk}",
                "amount": None,
                "summary": ", ".join(parts),
                "by": _username(contact.logged_by),
                "object": contact,
            }
        )
    for letter in Letter.objects.filter(dealer=dealer).order_by("-issued_on", "-id")[:limit]:
        entries.append(
            {
                "kind": "letter",
                "on": letter.issued_on,
                "at": letter.created_at,
                "id": letter.pk,
                "reference": f"letter {letter.pk}",
                "amount": letter.amount,
                "summary": f"{letter.get_kind_display()} letter, level {letter.level}",
                "by": None,
                "object": letter,
            }
        )
    changes = (
        StageChange.objects.filter(dealer=dealer)
        .select_related("by")
        .order_by("-on", "-at", "-id")[:limit]
    )
    for change in changes:
        entries.append(
            {
                "kind": "stage_change",
                "on": change.on,
                "at": change.at,
                "id": change.pk,
                "reference": f"stage change {change.pk}",
                "amount": None,
                "summary": f"Stage {change.from_stage} \u2192 {change.to_stage}: {change.reason}",
                "by": _username(change.by),
                "object": change,
            }
        )
    entries.sort(key=lambda entry: (entry["on"], entry["at"]), reverse=True)
    return entries[:limit]


__all__ = ["TimelineEntry", "timeline"]

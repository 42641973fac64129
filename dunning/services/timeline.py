"""A dealer's history on one page: orders, payments, promises, contacts, letters and stage
changes, newest first. One query per kind, whatever the number of rows.

Each entry's summary is one line in words. For a page (`localized=True`) it is written in
the reader's language, with amounts and dates the way that language writes them and
stages by their labels; for the API it is the stable English line with plain
`1234.50`, ISO dates and stage values (the API calls it under `translation.override`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypedDict

from django.db import models
from django.utils.translation import gettext as _

from dunning.calendar import dealer_zone
from dunning.models import ContactLog, Letter, Promise, StageChange
from receivables.models import Dealer, Order, Payment
from receivables.templatetags.money import local_date, money


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


def timeline(dealer: Dealer, *, limit: int = 200, localized: bool = False) -> list[TimelineEntry]:
    """The newest `limit` entries of the dealer's history, newest first by business date,
    then by the time they were recorded. `localized`: amounts, dates and stages written
    for the reader (see the module's docstring)."""

    def amount(value: Decimal) -> str:
        return money(value) if localized else f"{value:.2f}"

    def day(value: dt.date) -> str:
        return local_date(value) if localized else f"{value:%Y-%m-%d}"

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
                    _("%(kind)s %(number)s for %(amount)s, due %(due)s")
                    % {
                        "kind": order.get_kind_display(),
                        "number": order.number,
                        "amount": amount(order.amount),
                        "due": day(order.due_on),
                    }
                    + (_(" (disputed)") if order.disputed else "")
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
                "summary": _("Payment %(reference)s of %(amount)s (%(method)s)")
                % {
                    "reference": payment.reference,
                    "amount": amount(payment.amount),
                    "method": payment.get_method_display().lower(),
                },
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
        moved = (
            _(" (asked %(asked)s)") % {"asked": day(promise.requested_due_on)}
            if promise.was_moved
            else ""
        )
        entries.append(
            {
                "kind": "promise",
                "on": promise.made_on,
                "at": promise.created_at,
                "id": promise.pk,
                "reference": _("promise %(id)s") % {"id": promise.pk},
                "amount": promise.amount,
                "summary": _("Promise of %(amount)s by %(due)s%(moved)s: %(status)s")
                % {
                    "amount": amount(promise.amount),
                    "due": day(promise.due_on),
                    "moved": moved,
                    "status": promise.get_status_display().lower(),
                },
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
        parts = [
            _("%(channel)s: %(outcome)s")
            % {
                "channel": contact.get_channel_display(),
                "outcome": contact.get_outcome_display().lower(),
            }
        ]
        if contact.person is not None:
            parts.append(_("with %(person)s") % {"person": contact.person.name})
        if contact.excuse is not None:
            parts.append(_("excuse “%(excuse)s”") % {"excuse": contact.excuse.shown_text})
        if contact.broken_rule:
            parts.append(_("broke the rule: %(rule)s") % {"rule": contact.broken_rule})
        entries.append(
            {
                "kind": "contact",
                "on": contact.at.astimezone(zone).date(),
                "at": contact.at,
                "id": contact.pk,
                "reference": _("contact %(id)s") % {"id": contact.pk},
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
                "reference": _("letter %(id)s") % {"id": letter.pk},
                "amount": letter.amount,
                "summary": _("%(kind)s letter, level %(level)s")
                % {"kind": letter.get_kind_display(), "level": letter.level},
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
                "reference": _("stage change %(id)s") % {"id": change.pk},
                "amount": None,
                "summary": _("Stage %(from)s → %(to)s: %(reason)s")
                % {
                    "from": change.get_from_stage_display() if localized else change.from_stage,
                    "to": change.get_to_stage_display() if localized else change.to_stage,
                    "reason": change.reason,
                },
                "by": _username(change.by),
                "object": change,
            }
        )
    entries.sort(key=lambda entry: (entry["on"], entry["at"]), reverse=True)
    return entries[:limit]


__all__ = ["TimelineEntry", "timeline"]

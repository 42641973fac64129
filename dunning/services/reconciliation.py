"""Reconciliation letters (docs/PRACTICE.md §3): a statement of account the dealer signs
and returns, and the reply, entered by finance or given on the reply page.

A confirmed reply is an acknowledgment of the debt: it restarts the limitation clock
(`dunning.figures.ACKNOWLEDGMENTS` reads it). A disputed one, with a balance below ours,
opens a dispute for the difference on the dealer's newest open orders, through the
ledger's own service (`receivables.services.upsert_order`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from dunning.models import CollectionPolicy, Letter
from dunning.services.common import check_choice, check_text, require, stamp
from dunning.services.errors import InvalidInput, WorkflowConflict
from dunning.services.letters import render_after_commit
from receivables.models import ZERO, Dealer, Order
from receivables.services import upsert_order

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# What a scan of the signed reply slip may be, and how big.
SCAN_TYPES = {"application/pdf", "image/png", "image/jpeg"}
SCAN_MAX_BYTES = 10 * 1024 * 1024


class ReplyClosed(WorkflowConflict):
    """The reconciliation letter already has its reply, or its reply address expired."""


def statement_total(dealer: Dealer, as_of: dt.date) -> Decimal:
    """What the dealer owed at the end of `as_of`: every order open that day."""
    total = sum(
        (o.open_amount for o in Order.objects.filter(dealer=dealer).open_at(as_of)),  # type: ignore[attr-defined]
        ZERO,
    )
    return total


@transaction.atomic
def issue_reconciliation_letter(
    *, dealer: Dealer, as_of: dt.date, today: dt.date, by: User | None
) -> Letter:
    """A new reconciliation letter to `dealer` with its statement as of `as_of` (at the
    latest today), a reply deadline from the policy and a reply address. It is rendered
    to PDF after the commit, like the sweep's letters."""
    require(by, "dunning.add_letter")
    if as_of > today:
        raise InvalidInput("as_of", f"A statement cannot be as of a future day (today is {today}).")
    if as_of < today - dt.timedelta(days=366):
        raise InvalidInput("as_of", "A statement is at most a year old.")
    from dunning.printing import letter_language

    policy = CollectionPolicy.current()
    letter = Letter(
        dealer=dealer,
        kind=Letter.Kind.RECONCILIATION,
        level=1,
        issued_on=today,
        as_of=as_of,
        amount=statement_total(dealer, as_of),
        reply_by=today + dt.timedelta(days=policy.reconciliation_reply_days),
        reply_token=secrets.token_urlsafe(16),
        language=letter_language(dealer.language),
    )
    stamp(letter, by=by, reason=f"statement of account as of {as_of:%Y-%m-%d}")
    letter.save()
    render_after_commit([letter])
    return letter


def letter_for_reply(token: str, today: dt.date) -> tuple[Letter | None, str]:
    """The reconciliation letter of a reply address and why it takes no reply: "" when
    it does, "unknown" (no such letter: None), "answered" or "expired"."""
    letter = (
        Letter.objects.select_related("dealer")
        .filter(kind=Letter.Kind.RECONCILIATION, reply_token=token)
        .first()
        if 0 < len(token) <= 64
        else None
    )
    if letter is None:
        return None, "unknown"
    if letter.reply:
        return letter, "answered"
    if today > letter.reply_expires_on:
        return letter, "expired"
    return letter, ""


def parse_balance(raw: str | Decimal | None, locale: str = "en") -> Decimal | None:
    """A disputed balance as typed (None when blank), in the writer's locale ("1.234,50"
    in Spanish, "1,234.50" in English) or plainly ("1234.50"); InvalidInput when it is
    not an amount. A comma is never dropped: "1234,50" is 1234.50 in Spanish and refused
    in English, never read as 123450."""
    from babel.numbers import NumberFormatError, parse_decimal

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    problem = InvalidInput("disputed_balance", "Enter an amount, like 1234.50.")
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip()
        try:
            value = parse_decimal(text, locale=locale, strict=True)
        except (NumberFormatError, ValueError):
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise problem from None
    if not value.is_finite():
        raise problem
    if value < 0:
        raise InvalidInput("disputed_balance", "A balance cannot be negative.")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput("disputed_balance", "At most 2 decimals.")
    if value >= Decimal("1e12"):
        raise InvalidInput("disputed_balance", "This amount is too large.")
    return value


def check_scan(scan: UploadedFile | None) -> None:
    if scan is None:
        return
    if scan.size is not None and scan.size > SCAN_MAX_BYTES:
        raise InvalidInput("scan", "The scan is larger than 10 MB.")
    head = scan.read(8)
    scan.seek(0)
    kind = (
        "application/pdf"
        if head.startswith(b"%PDF")
        else "image/png"
        if head.startswith(b"\x89PNG")
        else "image/jpeg"
        if head.startswith(b"\xff\xd8")
        else ""
    )
    if kind not in SCAN_TYPES:
        raise InvalidInput("scan", "The scan must be a PDF, PNG or JPEG file.")


@transaction.atomic
def record_reply(
    *,
    letter_id: int,
    answer: str,
    replied_on: dt.date,
    disputed_balance: Decimal | None = None,
    note: str = "",
    scan: UploadedFile | None = None,
    by: User | None,
    channel: str = Letter.ReplyChannel.FINANCE,
    address: str | None = None,
    today: dt.date,
    now: dt.datetime,
) -> Letter:
    """Record the dealer's reply to a reconciliation letter: `confirmed`, or `disputed`
    with the balance the dealer believes is right. A confirmed reply restarts the
    limitation clock; a disputed balance below the statement's opens a dispute for the
    difference. Raises `ReplyClosed` (409) when the letter already has a reply."""
    if channel == Letter.ReplyChannel.FINANCE:
        require(by, "dunning.change_letter")
    answer = check_choice("answer", answer, Letter.Reply)
    note = check_text("note", note, required=False, max_length=2000)
    check_scan(scan)
    letter = Letter.objects.select_for_update().select_related("dealer").get(pk=letter_id)
    if letter.kind != Letter.Kind.RECONCILIATION:
        raise InvalidInput("answer", "Only reconciliation letters take a reply.")
    if letter.reply:
        raise ReplyClosed(
            f"Letter #{letter.pk} already has its reply ({letter.get_reply_display().lower()} "
            f"on {letter.replied_on:%Y-%m-%d})."
        )
    if replied_on < letter.issued_on:
        raise InvalidInput(
            "replied_on", f"The reply cannot be before the letter, {letter.issued_on}."
        )
    if replied_on > today:
        raise InvalidInput("replied_on", f"The reply cannot be after today, {today}.")
    if answer == Letter.Reply.DISPUTED:
        if disputed_balance is None:
            raise InvalidInput("disputed_balance", "Give the balance the dealer believes is right.")
        if disputed_balance == letter.amount:
            raise InvalidInput(
                "disputed_balance",
                "That is the statement's balance: record the reply as confirmed.",
            )
    elif disputed_balance is not None:
        raise InvalidInput("disputed_balance", "A confirmed reply has no other balance.")
    letter.reply = answer
    letter.replied_on = replied_on
    letter.disputed_balance = disputed_balance
    letter.reply_note = note
    letter.reply_channel = channel
    letter.reply_recorded_at = now
    letter.reply_address = address
    if scan is not None:
        letter.reply_scan.save(
            f"{letter.issued_on:%Y%m%d}-{letter.dealer.code}-reply-{letter.pk}", scan, save=False
        )
    how = "on the reply page" if channel == Letter.ReplyChannel.REPLY_PAGE else "by finance"
    stamp(letter, by=by, reason=f"reply {answer}, recorded {how}")
    letter.save()
    if answer == Letter.Reply.DISPUTED and disputed_balance is not None:
        _open_dispute(letter, letter.amount - disputed_balance, today=today, by=by)
    return letter


def _open_dispute(letter: Letter, difference: Decimal, *, today: dt.date, by: User | None) -> None:
    """Dispute `difference` of the dealer's open orders, newest first (the ones the
    statement and the dealer's books most likely disagree on). A dealer who states a
    higher balance than ours disputes nothing."""
    if difference <= 0:
        return
    reason = (
        f"Reconciliation letter #{letter.pk} as of {letter.as_of:%Y-%m-%d}: the dealer states "
        f"a balance of {letter.disputed_balance} {letter.dealer.currency} against "
        f"{letter.amount}."
    )
    if letter.reply_note:
        reason += f" {letter.reply_note}"
    left = difference
    orders = (
        Order.objects.filter(dealer=letter.dealer_id).open_at(today).order_by("-due_on", "-number")
    )
    for order in orders:
        if left <= 0:
            break
        already = (order.disputed_amount or ZERO) if order.disputed else ZERO
        room = min(order.open_amount, order.amount - already)  # type: ignore[attr-defined]
        if room <= 0:
            continue
        more = min(room, left)
        upsert_order(
            number=order.number,
            dealer=letter.dealer.code,
            ordered_on=order.ordered_on,
            due_on=order.due_on,
            amount=order.amount,
            disputed=True,
            dispute_reason=(
                f"{order.dispute_reason}\n{reason}" if order.dispute_reason else reason
            ),
            disputed_amount=already + more,
            user=by,
            reason=f"dispute from reconciliation letter #{letter.pk}",
        )
        left -= more

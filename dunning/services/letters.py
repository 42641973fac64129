"""The print room's services: the day's print run, posting and the return receipt
(docs/API.md "Letters"). Rendering itself is `dunning.printing`."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from django.db import transaction

from dunning.models import Letter
from dunning.services.errors import InvalidInput, WorkflowConflict

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from dunning.models.letters import LetterQuerySet


class LetterNotReady(WorkflowConflict):
    """The letter has no PDF yet (still rendering, or rendering failed)."""


def print_run_letters(letters: LetterQuerySet, *, issued_on: dt.date) -> LetterQuerySet:
    """The letters of a business date that are ready and not yet posted, in postal order
    (country, postal code, dealer name), as the post office sorts them."""
    return (
        letters.filter(issued_on=issued_on, status=Letter.Status.READY)
        .select_related("dealer")
        .order_by("dealer__country", "dealer__postal_code", "dealer__name", "dealer__code", "pk")
    )


def print_run_pdf(letters: LetterQuerySet, *, issued_on: dt.date) -> tuple[bytes, int]:
    """One PDF of the day's print run, each letter's stored pages in postal order, and
    how many letters it holds. Nothing is rendered again."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    count = 0
    for letter in print_run_letters(letters, issued_on=issued_on):
        with letter.pdf.open("rb") as stored:
            writer.append(io.BytesIO(stored.read()))
        count += 1
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), count


@transaction.atomic
def mark_posted(
    *,
    letter_id: int,
    posted_on: dt.date,
    tracking_number: str = "",
    by: User | AnonymousUser | None,
) -> Letter:
    """The letter went into the post on `posted_on` (with its tracked-mail number)."""
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status not in (Letter.Status.READY, Letter.Status.POSTED):
        raise LetterNotReady(
            f"Letter #{letter_id} cannot be posted: it is {letter.get_status_display().lower()}."
        )
    if posted_on < letter.issued_on:
        raise InvalidInput(
            "posted_on", f"A letter is posted on or after its date, {letter.issued_on}."
        )
    letter.status = Letter.Status.POSTED
    letter.posted_on = posted_on
    letter.tracking_number = tracking_number
    letter._history_user = by if by is not None and by.is_authenticated else None  # type: ignore[attr-defined]
    letter._change_reason = "posted"  # type: ignore[attr-defined]
    letter.save(update_fields=["status", "posted_on", "tracking_number"])
    return letter


@transaction.atomic
def record_receipt(
    *, letter_id: int, received_on: dt.date, by: User | AnonymousUser | None
) -> Letter:
    """The return receipt of a posted letter came back, signed on `received_on`."""
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.posted_on is None:
        raise WorkflowConflict(f"Letter #{letter_id} has not been posted: no receipt yet.")
    if received_on < letter.posted_on:
        raise InvalidInput(
            "received_on", f"The receipt cannot be before the posting, {letter.posted_on}."
        )
    letter.receipt_on = received_on
    letter._history_user = by if by is not None and by.is_authenticated else None  # type: ignore[attr-defined]
    letter._change_reason = "return receipt"  # type: ignore[attr-defined]
    letter.save(update_fields=["receipt_on"])
    return letter

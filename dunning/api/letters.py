"""The letters of the JSON API (docs/API.md "Letters"): the list, with the print room's
fields, the stored PDF (the same bytes on every download), the print run, posting and
receipt, reconciliation letters and their replies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.responses import codes_4xx

from dunning.models import Letter
from dunning.printing import letter_language
from dunning.services.letters import mark_posted, print_run_pdf, record_receipt
from dunning.services.reconciliation import issue_reconciliation_letter, record_reply
from receivables.access import get_dealer_for_user
from receivables.api_types import (
    Day,
    DealerCode,
    Errors,
    MoneyIn,
    PlainText,
    money_or_none,
    require,
)
from receivables.dates import business_today
from receivables.models import Dealer

letters_router = Router(tags=["letters"])

LETTERS_PER_ANSWER = 500


class LetterQuery(Schema):
    dealer: str | None = Field(None, max_length=40, description="A dealer's code")
    kind: Letter.Kind | None = None
    status: Letter.Status | None = None
    issued_on: Day | None = None
    created_from: Day | None = None
    created_to: Day | None = None


class LetterOut(Schema):
    id: int
    kind: str
    level: int
    dealer: str
    created_at: dt.datetime
    pdf_url: str | None = Field(description="Null until the letter is rendered")
    sha256: str | None
    language: str
    status: str
    issued_on: dt.date
    posted_on: dt.date | None
    tracking_number: str
    receipt_on: dt.date | None
    amount: str | None
    delivery: str
    as_of: dt.date | None = Field(description="Reconciliation letters: the statement's date")
    reply_by: dt.date | None = Field(
        description="Reconciliation letters: no reply by then and the balance is deemed confirmed"
    )
    reply: str | None = Field(description="Reconciliation letters: confirmed, disputed or null")
    replied_on: dt.date | None
    disputed_balance: str | None


@letters_router.get("/letters", response={200: list[LetterOut], codes_4xx: Errors})
def list_letters(request: HttpRequest, query: Query[LetterQuery]) -> list[dict[str, Any]]:
    """Letters of the dealers this user may see, newest first (at most 500: narrow by
    dealer, kind, status or dates)."""
    require(request, "dunning.view_letter")
    letters = Letter.objects.visible_to(request.user).select_related("dealer")
    if query.dealer is not None:
        letters = letters.filter(dealer__code=query.dealer)
    if query.kind is not None:
        letters = letters.filter(kind=query.kind)
    if query.status is not None:
        letters = letters.filter(status=query.status)
    if query.issued_on is not None:
        letters = letters.filter(issued_on=query.issued_on)
    if query.created_from is not None:
        letters = letters.filter(created_at__date__gte=query.created_from)
    if query.created_to is not None:
        letters = letters.filter(created_at__date__lte=query.created_to)
    return [
        _answer(letter) for letter in letters.order_by("-created_at", "-id")[:LETTERS_PER_ANSWER]
    ]


class PrintRunQuery(Schema):
    issued_on: Day | None = Field(None, description="Business date; default today")


class PostingIn(Schema):
    posted_on: Day
    tracking_number: Annotated[PlainText, Field(max_length=60)] = ""


class ReceiptIn(Schema):
    received_on: Day


class ReconciliationQuery(Schema):
    as_of: Day | None = Field(None, description="The statement's date; default today")


class ReplyIn(Schema):
    answer: Letter.Reply
    replied_on: Day
    disputed_balance: MoneyIn | None = None
    note: Annotated[PlainText, Field(max_length=2000)] = ""


@letters_router.post(
    "/dealers/{code}/reconciliation-letters",
    response={201: LetterOut, codes_4xx: Errors},
)
def new_reconciliation_letter(
    request: HttpRequest, code: DealerCode, query: Query[ReconciliationQuery]
) -> Status:
    """A new reconciliation letter: the dealer's statement of account as of a date, with a
    reply slip, the deemed-confirmed clause and a reply address. It is rendered after the
    answer (`status` rendering, then ready)."""
    require(request, "dunning.add_letter")
    today = business_today()
    dealer = get_dealer_for_user(request.user, code, dealers=Dealer.objects.all())
    letter = issue_reconciliation_letter(
        dealer=dealer,
        as_of=query.as_of or today,
        today=today,
        by=request.user,  # type: ignore[arg-type]
    )
    return Status(201, _answer(_visible(request, letter.pk)))


@letters_router.post("/letters/{letter_id}/reply", response={200: LetterOut, codes_4xx: Errors})
def letter_reply(request: HttpRequest, letter_id: int, payload: ReplyIn) -> dict[str, Any]:
    """Record the dealer's reply to a reconciliation letter; 409 when it already has one.
    A confirmed reply restarts the limitation clock; a disputed one opens a dispute for
    the difference."""
    require(request, "dunning.change_letter")
    _visible(request, letter_id)
    record_reply(
        letter_id=letter_id,
        answer=payload.answer,
        replied_on=payload.replied_on,
        disputed_balance=payload.disputed_balance,
        note=payload.note,
        by=request.user,  # type: ignore[arg-type]
        today=business_today(),
        now=timezone.now(),
    )
    return _answer(_visible(request, letter_id))


@letters_router.get("/letters/print-run.pdf", response={codes_4xx: Errors})
def print_run(request: HttpRequest, query: Query[PrintRunQuery]) -> HttpResponse:
    """Every ready, not yet posted letter of the business date in one PDF, in postal
    order (country, postal code, dealer name); 404 when there is none."""
    require(request, "dunning.view_letter")
    issued_on = query.issued_on or business_today()
    pdf, count = print_run_pdf(Letter.objects.visible_to(request.user), issued_on=issued_on)
    if not count:
        raise Http404(f"No letter of {issued_on} is ready to print.")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="print-run-{issued_on}.pdf"'
    response["X-Letters"] = str(count)
    return response


@letters_router.post("/letters/{letter_id}/posting", response={200: LetterOut, codes_4xx: Errors})
def post_letter(request: HttpRequest, letter_id: int, payload: PostingIn) -> dict[str, Any]:
    """Mark the letter posted on a day, with its tracked-mail number; 409 when it has no
    PDF yet."""
    require(request, "dunning.change_letter")
    _visible(request, letter_id)
    mark_posted(
        letter_id=letter_id,
        posted_on=payload.posted_on,
        tracking_number=payload.tracking_number,
        by=request.user,
    )
    return _answer(_visible(request, letter_id))


@letters_router.post("/letters/{letter_id}/receipt", response={200: LetterOut, codes_4xx: Errors})
def letter_receipt(request: HttpRequest, letter_id: int, payload: ReceiptIn) -> dict[str, Any]:
    """Record the return receipt's date of a posted letter; 409 before it is posted."""
    require(request, "dunning.change_letter")
    _visible(request, letter_id)
    record_receipt(letter_id=letter_id, received_on=payload.received_on, by=request.user)
    return _answer(_visible(request, letter_id))


def _visible(request: HttpRequest, letter_id: int) -> Letter:
    letter = Letter.objects.visible_to(request.user).select_related("dealer").filter(pk=letter_id)
    found = letter.first()
    if found is None:
        raise Http404(f"No letter #{letter_id}.")
    return found


@letters_router.get("/letters/{letter_id}/pdf", response={codes_4xx: Errors})
def letter_pdf(request: HttpRequest, letter_id: int) -> FileResponse:
    """The stored PDF; 404 for a letter out of sight or not rendered yet."""
    require(request, "dunning.view_letter")
    letter = _visible(request, letter_id)
    if not letter.sha256:
        raise Http404(f"Letter #{letter_id} is not rendered yet ({letter.get_status_display()}).")
    return FileResponse(
        letter.pdf.open("rb"),
        content_type="application/pdf",
        filename=f"letter-{letter.pk}.pdf",
    )


def _answer(letter: Letter) -> dict[str, Any]:
    rendered = bool(letter.sha256)
    return {
        "id": letter.pk,
        "kind": letter.kind,
        "level": letter.level,
        "dealer": letter.dealer.code,
        "created_at": letter.created_at,
        "pdf_url": reverse("api-1:letter_pdf", args=[letter.pk]) if rendered else None,
        "sha256": letter.sha256 or None,
        "language": letter.language or letter_language(letter.dealer.language),
        "status": letter.status,
        "issued_on": letter.issued_on,
        "posted_on": letter.posted_on,
        "tracking_number": letter.tracking_number,
        "receipt_on": letter.receipt_on,
        "amount": money_or_none(letter.amount),
        "delivery": letter.delivery,
        "as_of": letter.as_of,
        "reply_by": letter.reply_by,
        "reply": letter.reply or None,
        "replied_on": letter.replied_on,
        "disputed_balance": money_or_none(letter.disputed_balance),
    }

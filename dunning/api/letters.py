"""The letters of the JSON API (docs/API.md "Letters"): the list, with the print room's
fields, and the stored PDF, the same bytes on every download."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from dunning.models import Letter
from receivables.api_types import Day, Errors, money_or_none, require

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


@letters_router.get("/letters/{letter_id}/pdf", response={codes_4xx: Errors})
def letter_pdf(request: HttpRequest, letter_id: int) -> FileResponse:
    """The stored PDF; 404 for a letter out of sight or not rendered yet."""
    require(request, "dunning.view_letter")
    letter = Letter.objects.visible_to(request.user).filter(pk=letter_id).first()
    if letter is None:
        raise Http404(f"No letter #{letter_id}.")
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
        "language": letter.language or letter.dealer.language,
        "status": letter.status,
        "issued_on": letter.issued_on,
        "posted_on": letter.posted_on,
        "tracking_number": letter.tracking_number,
        "receipt_on": letter.receipt_on,
        "amount": money_or_none(letter.amount),
    }

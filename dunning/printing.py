"""Letters to PDF: rendered once, stored with their sha256, downloaded byte for byte.

`render_pdf` lays a letter out from `templates/letters/<kind>.html` (each extends
`templates/letters/base.html`) with WeasyPrint; `store_pdf` renders a letter that has no
PDF yet and stores it under MEDIA_ROOT; the Celery task `dunning.tasks.render_letter`
calls it after the sweep's commit, with retries, and `mark_failed` records why the last
retry failed. WeasyPrint fetches nothing from the network (`local_only_fetcher`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from dunning.models import Letter
from receivables.models import ZERO, Order, Payment

TEMPLATES = {
    Letter.Kind.REMINDER: "letters/reminder.html",
    Letter.Kind.FINAL_DEMAND: "letters/final_demand.html",
    Letter.Kind.INTEREST_NOTICE: "letters/interest_notice.html",
    Letter.Kind.RECONCILIATION: "letters/reconciliation.html",
    Letter.Kind.PRE_LITIGATION: "letters/pre_litigation.html",
    Letter.Kind.PLACEMENT: "letters/placement.html",
}

# The languages letters are written in (settings.LANGUAGES); any other falls back to English.
LETTER_LANGUAGES = ("en", "es", "zh-hans")


def letter_language(code: str) -> str:
    """The language a letter to a dealer of language `code` is written in: Spanish for
    any Spanish, Simplified Chinese for any Chinese, English otherwise."""
    code = (code or "").strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hans"
    if code.startswith("es"):
        return "es"
    return "en"


class RefusedFetch(ValueError):
    """A letter asked WeasyPrint for something that is not one of our static files."""


def local_only_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves `/static/...` from the project's static files
    on disk and refuses everything else, so that rendering never waits on, or leaks to,
    the network."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            for prefix in ("file:///static/", "/static/", "static/"):
                if url.startswith(prefix):
                    found = finders.find(url.removeprefix(prefix))
                    if isinstance(found, str):
                        return super().fetch(Path(found).as_uri(), headers)
            raise RefusedFetch(f"letters fetch nothing from outside the project: {url}")

    return LocalOnlyFetcher(allowed_protocols=["file"])


def reply_url(letter: Letter) -> str:
    """The short address printed on a reconciliation letter, where the dealer answers it
    without logging in (`/reply/<token>`)."""
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/reply/{letter.reply_token}"


def statement_context(letter: Letter) -> dict[str, Any]:
    """A reconciliation letter's statement of account as of `letter.as_of`: every order
    open that day (amount, paid, open), the payments received since the previous
    statement, the total, and the reply address with its QR code."""
    import segno

    as_of = letter.as_of or letter.issued_on
    items = list(
        Order.objects.filter(dealer=letter.dealer_id).open_at(as_of).order_by("due_on", "number")
    )
    for order in items:
        order.paid_amount = order.amount - order.open_amount  # type: ignore[attr-defined]
    previous = (
        Letter.objects.filter(
            dealer=letter.dealer_id, kind=Letter.Kind.RECONCILIATION, as_of__lt=as_of
        )
        .exclude(pk=letter.pk)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    payments = Payment.objects.filter(dealer=letter.dealer_id, received_on__lte=as_of)
    if previous is not None:
        payments = payments.filter(received_on__gt=previous)
    else:
        payments = payments.filter(
            received_on__gt=as_of - dt.timedelta(days=PAYMENTS_WITHOUT_PREVIOUS)
        )
    url = reply_url(letter)
    return {
        "as_of": as_of,
        "items": items,
        "total": sum((order.open_amount for order in items), ZERO),  # type: ignore[attr-defined]
        "payments": list(payments.order_by("received_on", "reference")),
        "payments_since": previous,
        "reply_url": url,
        "reply_qr_svg": segno.make(url, error="m").svg_inline(scale=2, border=0),
    }


# Without an earlier statement, a reconciliation letter lists this many days of payments.
PAYMENTS_WITHOUT_PREVIOUS = 90


def letter_context(letter: Letter) -> dict[str, Any]:
    """What the letter says: the dealer, the items overdue on the day it was issued and
    their total (a reconciliation letter: its statement of account), with the letterhead
    and the locale its amounts and dates are written in."""
    if letter.kind == Letter.Kind.RECONCILIATION:
        said = statement_context(letter)
    else:
        overdue = list(
            Order.objects.filter(dealer=letter.dealer_id)
            .overdue_on(letter.issued_on)
            .order_by("due_on", "number")
        )
        for order in overdue:
            order.days_late = order.days_past_due(letter.issued_on)  # type: ignore[attr-defined]
        said = {
            "items": overdue,
            "total": sum((order.open_amount for order in overdue), ZERO),  # type: ignore[attr-defined]
        }
    language = letter_language(letter.language or letter.dealer.language)
    return {
        **said,
        "letter": letter,
        "dealer": letter.dealer,
        "escalation": letter.escalation,
        "language": language,
        "company": {
            "name": settings.COMPANY_NAME,
            "address": settings.COMPANY_ADDRESS.splitlines(),
            "signatory": settings.COMPANY_SIGNATORY,
        },
        "paper": "letter" if settings.LETTER_PAPER.lower() == "letter" else "A4",
    }


def render_pdf(letter: Letter) -> bytes:
    """The letter as PDF bytes (not stored)."""
    from weasyprint import HTML

    template = TEMPLATES[Letter.Kind(letter.kind)]
    context = letter_context(letter)
    with translation.override(context["language"]):
        html = render_to_string(template, context)
    pdf: bytes = HTML(string=html, url_fetcher=local_only_fetcher(), base_url="/").write_pdf()
    return pdf


def store_pdf(letter_id: int) -> Letter:
    """Render the letter once and store it with its sha256; a letter already stored is
    left as it is (a task delivered twice renders nothing more)."""
    letter = Letter.objects.select_related("dealer").get(pk=letter_id)
    if letter.sha256:
        return letter
    pdf = render_pdf(letter)
    with transaction.atomic():
        letter = Letter.objects.select_for_update().select_related("dealer").get(pk=letter_id)
        if letter.sha256:  # another worker stored it meanwhile
            return letter
        name = f"{letter.issued_on:%Y%m%d}-{letter.dealer.code}-{letter.kind}-{letter.pk}.pdf"
        letter.pdf.save(name, ContentFile(pdf), save=False)
        letter.sha256 = hashlib.sha256(pdf).hexdigest()
        letter.status = Letter.Status.READY
        letter.failure = ""
        letter.language = letter.language or letter_language(letter.dealer.language)
        letter._change_reason = "rendered"  # type: ignore[attr-defined]
        letter.save(update_fields=["pdf", "sha256", "status", "failure", "language"])
    return letter


def mark_failed(letter_id: int, reason: str) -> None:
    """Record that rendering gave up, and why (after the task's last retry)."""
    Letter.objects.filter(pk=letter_id, sha256="").update(
        status=Letter.Status.FAILED, failure=reason[:2000]
    )

"""Letters to PDF: rendered once, stored with their sha256, downloaded byte for byte.

`render_pdf` lays a letter out from `templates/letters/<kind>.html` (each extends
`templates/letters/base.html`) with WeasyPrint; `store_pdf` renders a letter that has no
PDF yet and stores it under MEDIA_ROOT; the Celery task `dunning.tasks.render_letter`
calls it after the sweep's commit, with retries, and `mark_failed` records why the last
retry failed. `store_pdfs` (the task `render_letters`) does the same for a batch of
letters laid out as one document ("Batches" below). WeasyPrint fetches nothing from the
network (`local_only_fetcher`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html as html_text
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from dunning.models import Letter
from receivables.locale_format import supported_language
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
    """The language a letter to a dealer of language `code` is written in: the one of our
    languages the interface would use for it (`receivables.locale_format`, one home)."""
    return supported_language(code)


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
    # The payments since the previous statement, or of the last 90 days without one.
    payments_from = (
        previous + dt.timedelta(days=1)
        if previous is not None
        else as_of - dt.timedelta(days=PAYMENTS_WITHOUT_PREVIOUS - 1)
    )
    payments = Payment.objects.filter(
        dealer=letter.dealer_id, received_on__gte=payments_from, received_on__lte=as_of
    )
    url = reply_url(letter)
    return {
        "as_of": as_of,
        "items": items,
        "total": sum((order.open_amount for order in items), ZERO),  # type: ignore[attr-defined]
        "payments": list(payments.order_by("received_on", "reference")),
        "payments_since": previous,
        "payments_from": payments_from,
        "reply_url": url,
        "reply_qr_svg": segno.make(url, error="m").svg_inline(scale=2, border=0),
    }


# Without an earlier statement, a reconciliation letter lists this many days of payments.
PAYMENTS_WITHOUT_PREVIOUS = 90


def letter_context(letter: Letter, *, overdue: list[Order] | None = None) -> dict[str, Any]:
    """What the letter says: the dealer, the items overdue on the day it was issued and
    their total (a reconciliation letter: its statement of account), with the letterhead
    and the locale its amounts and dates are written in. `overdue`: the dealer's items
    overdue on `letter.issued_on` when already read (`letter_contexts`), in letter order."""
    if letter.kind == Letter.Kind.RECONCILIATION:
        said = statement_context(letter)
    else:
        if overdue is None:
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
            "phone": settings.COMPANY_PHONE,
            "email": settings.COMPANY_EMAIL,
        },
        "paper": "letter" if settings.LETTER_PAPER.lower() == "letter" else "A4",
    }


def letter_contexts(letters: Sequence[Letter]) -> dict[int, dict[str, Any]]:
    """`letter_context` of many letters (their dealer and escalation selected), reading
    the overdue items of all the letters issued on the same day in one query."""
    by_day: dict[dt.date, set[int]] = defaultdict(set)
    for letter in letters:
        if letter.kind != Letter.Kind.RECONCILIATION:
            by_day[letter.issued_on].add(letter.dealer_id)
    overdue: dict[tuple[dt.date, int], list[Order]] = defaultdict(list)
    for day, dealer_ids in by_day.items():
        orders = (
            Order.objects.filter(dealer__in=sorted(dealer_ids))
            .overdue_on(day)
            .order_by("dealer", "due_on", "number")
        )
        for order in orders:
            overdue[day, order.dealer_id].append(order)
    return {
        letter.pk: letter_context(
            letter,
            overdue=None
            if letter.kind == Letter.Kind.RECONCILIATION
            else overdue[letter.issued_on, letter.dealer_id],
        )
        for letter in letters
    }


def letter_html(letter: Letter, context: dict[str, Any] | None = None) -> str:
    """The letter as the HTML page WeasyPrint lays out."""
    if context is None:
        context = letter_context(letter)
    with translation.override(context["language"]):
        return render_to_string(TEMPLATES[Letter.Kind(letter.kind)], context)


def render_pdf(letter: Letter) -> bytes:
    """The letter as PDF bytes (not stored), laid out alone."""
    from weasyprint import HTML

    html = letter_html(letter)
    pdf: bytes = HTML(string=html, url_fetcher=local_only_fetcher(), base_url="/").write_pdf()
    return pdf


def store_pdf(letter_id: int) -> Letter:
    """Render the letter once and store it with its sha256; a letter already stored is
    left as it is (a task delivered twice renders nothing more)."""
    letter = Letter.objects.select_related("dealer").get(pk=letter_id)
    if letter.sha256:
        return letter
    return _store(letter_id, render_pdf(letter))


def _store(letter_id: int, pdf: bytes) -> Letter:
    """Store the rendered PDF of a letter that has none yet (the one stored first wins)."""
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


# --- Batches ---------------------------------------------------------------------------
#
# Every PDF WeasyPrint writes embeds a subset of each font it uses. Without HarfBuzz's
# subsetter (the Debian package libharfbuzz-subset0) WeasyPrint subsets with fontTools,
# which reads the whole font file again for every PDF: about 0.1 s per font, two fonts a
# Latin letter and more for a Chinese one, as much as laying the letter out
# (docs/BENCHMARKS.md, "Letters"). So a batch of letters is laid out as one document and
# written as one PDF, whose fonts are subset once, then cut into one PDF per letter (pypdf
# copies each letter's pages with the fonts they use). Laying out stays per letter.
#
# In that document each letter is a `<div>` holding its page's body, on pages of its own
# name (`page: rd-letter-<n>`); its `@page` rules are copied for that name (`@page :first`
# for the first page of the name's group, `:nth(1 of rd-letter-<n>)`), where the page
# counter starts again at 1 and `counter(pages)` becomes the page counter at a marker that
# ends the letter (`target-counter`), so each letter says "Page 1 of N" of its own pages.
# Letters whose pages are the same but for their `@page` rules and `<title>` (in practice:
# one language; most kinds share their styles) share a document. Whatever cannot be
# batched so is rendered alone (`render_pdf`): a letter alone in its group, a page the
# batch would lay out differently (`CannotBatch`), a document that fails, a letter whose
# pages do not come out where expected.

log = logging.getLogger(__name__)

# The `id` of a letter's `<div>` in a batch document, of its end marker, and its page name.
BATCH_LETTER = "rd-letter-{}"
BATCH_END = "rd-letter-end-{}"

# Every break inside a letter is unforced, and margins at an unforced break are truncated.
# WeasyPrint takes every page of a name (each letter's, here) for one after a forced break,
# where margins are kept: `discard` truncates them as the letter's own document does. (The
# first page of a letter keeps its margins in both: the first in-flow box of a letter,
# `<main>`, has none above it; tests/test_letters_batch.py compares where each line is.)
BATCH_CSS = "* { margin-break: discard; }"

_HTML_TAG = re.compile(r"<html\b[^>]*>", re.IGNORECASE)
_DOCTYPE = re.compile(r"<!doctype[^>]*>", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>(.*?)</head\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)
_BODY = re.compile(
    r"(<body\b[^>]*>)(.*)</body\s*>\s*(?:</html\s*>)?\s*$", re.IGNORECASE | re.DOTALL
)


class CannotBatch(ValueError):
    """A letter's page that a batch document would not lay out as its own document does."""


@dataclass
class _Cut:
    """A letter's HTML page cut for a batch document: what letters of one document share
    (`key`), and what is the letter's own: its title, `@page` rules and body."""

    letter_id: int
    key: tuple[str, str, str, str]  # <html> tag, the rest of <head>, style but @page, <body> tag
    title: str
    page_rules: list[Any]  # tinycss2 @page rules
    body: str


def _cut(letter_id: int, page: str) -> _Cut:
    import tinycss2

    html_tag, head, body = _HTML_TAG.search(page), _HEAD.search(page), _BODY.search(page)
    if html_tag is None or head is None or body is None:
        raise CannotBatch("no <html>, <head> or <body>")
    if _DOCTYPE.sub("", page[: html_tag.start()]).strip():
        raise CannotBatch("text before <html>")
    if page[html_tag.end() : head.start()].strip() or page[head.end() : body.start()].strip():
        raise CannotBatch("text between <html>, <head> and <body>")
    titles = _TITLE.findall(head.group(1))
    rest_of_head = _STYLE.sub("", _TITLE.sub("", head.group(1)))
    shared, page_rules = [], []
    for rule in tinycss2.parse_stylesheet(
        "\n".join(_STYLE.findall(head.group(1))), skip_comments=True, skip_whitespace=True
    ):
        if rule.type == "at-rule" and rule.lower_at_keyword == "page":
            page_rules.append(rule)
        elif rule.type == "error":
            raise CannotBatch(f"a style the batch cannot copy: {rule.message}")
        else:
            shared.append(rule)
    _refuse_rules(shared)
    _refuse_inline_styles(body.group(2))
    if _ID.search(body.group(2)):  # an element named in the letter, perhaps linked to
        raise CannotBatch("an element with an id")
    return _Cut(
        letter_id=letter_id,
        key=(html_tag.group(0), rest_of_head, tinycss2.serialize(shared), body.group(1)),
        title=html_text.unescape(titles[0]) if titles else "",
        page_rules=page_rules,
        body=body.group(2),
    )


# Declarations a batch document would not lay out as the letter's own document does:
# pages of another name, forced breaks inside a letter (in a batch, every break inside a
# letter is taken as unforced: `margin-break: discard`), margins told how to break.
_FORCED = {"always", "page", "left", "right", "recto", "verso", "all"}
_BREAKS = {"break-before", "break-after", "page-break-before", "page-break-after"}
_ID = re.compile(r"<[^>]*\sid\s*=", re.IGNORECASE)
_NESTING = {"media", "supports", "layer", "container", "scope"}
_INLINE_STYLE = re.compile(
    r"\bstyle\s*=\s*(\"[^\"]*\"|'[^']*')",
    re.IGNORECASE,
)


def _refuse_declarations(declarations: Iterable[Any]) -> None:
    import tinycss2

    for declaration in declarations:
        if declaration.type != "declaration":
            continue
        name = declaration.lower_name
        value = tinycss2.serialize(declaration.value).strip().lower()
        if name in ("page", "margin-break") or (name in _BREAKS and value in _FORCED):
            raise CannotBatch(f"{name}: {value}")


def _refuse_rules(rules: Iterable[Any]) -> None:
    import tinycss2

    for rule in rules:
        if rule.type == "qualified-rule":
            _refuse_declarations(tinycss2.parse_blocks_contents(rule.content))
        elif (
            rule.type == "at-rule"
            and rule.content is not None
            and rule.lower_at_keyword in _NESTING
        ):
            _refuse_rules(tinycss2.parse_rule_list(rule.content, skip_comments=True))


def _refuse_inline_styles(body: str) -> None:
    import tinycss2

    for match in _INLINE_STYLE.finditer(body):
        style = html_text.unescape(match.group(1)[1:-1])
        _refuse_declarations(tinycss2.parse_blocks_contents(style))


def _page_css(rules: list[Any], number: int) -> str:
    """The letter's `@page` rules for its own pages in a batch document."""
    import tinycss2

    name, end = BATCH_LETTER.format(number), BATCH_END.format(number)
    css = []
    for rule in rules:
        prelude = tinycss2.serialize(rule.prelude).strip()
        if prelude == "":
            selector = name
        elif prelude.lower() == ":first":
            selector = f":nth(1 of {name})"
        else:  # :left, :right and :blank depend on where the letter falls in the batch
            raise CannotBatch(f"@page {prelude}")
        css.append(f"@page {selector} {{{_own_pages(rule.content or [], end)}}}")
    css.append(f"@page :nth(1 of {name}) {{ counter-reset: page 1; }}")
    return "\n".join(css)


_BLANK = ("whitespace", "comment")


def _own_pages(tokens: list[Any], end: str) -> str:
    """CSS `tokens` with `counter(pages)` made the page counter at the letter's end."""
    out = []
    for token in tokens:
        if token.type == "function":
            named = [(n, t) for n, t in enumerate(token.arguments) if t.type not in _BLANK]
            if named and named[0][1].type == "ident" and named[0][1].lower_value == "pages":
                if token.lower_name == "counters":
                    raise CannotBatch("counters(pages)")
                if token.lower_name == "counter":
                    rest = _own_pages(token.arguments[named[0][0] + 1 :], end)
                    out.append(f'target-counter("#{end}", page{rest})')
                    continue
            out.append(f"{token.name}({_own_pages(token.arguments, end)})")
        elif token.type == "{} block":
            out.append("{" + _own_pages(token.content, end) + "}")
        elif token.type == "[] block":
            out.append("[" + _own_pages(token.content, end) + "]")
        elif token.type == "() block":
            out.append("(" + _own_pages(token.content, end) + ")")
        else:
            out.append(token.serialize())
    return "".join(out)


def _batch_document(cuts: list[_Cut]) -> str:
    html_tag, rest_of_head, shared_css, body_tag = cuts[0].key
    pages = "\n".join(_page_css(cut.page_rules, number) for number, cut in enumerate(cuts))
    letters = "".join(
        f'<div id="{BATCH_LETTER.format(number)}" style="page: {BATCH_LETTER.format(number)}">'
        f"{cut.body}"
        # Out of the flow: it never makes a page of its own.
        f'<div id="{BATCH_END.format(number)}" style="position: absolute"></div></div>'
        for number, cut in enumerate(cuts)
    )
    return (
        f"<!DOCTYPE html>{html_tag}<head>{rest_of_head}<title>{html_text.escape(cuts[0].title)}"
        f"</title><style>{shared_css}</style><style>{BATCH_CSS}\n{pages}</style></head>"
        f"{body_tag}{letters}</body></html>"
    )


def _render_group(cuts: list[_Cut]) -> dict[int, bytes]:
    """One PDF per letter of `cuts` (letters of one key), cut from one document; a letter
    whose pages cannot be told apart is left out (it is then rendered alone)."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject
    from weasyprint import HTML

    document = HTML(
        string=_batch_document(cuts), url_fetcher=local_only_fetcher(), base_url="/"
    ).render()
    markers = {BATCH_LETTER.format(n): (n, "start") for n in range(len(cuts))}
    markers.update({BATCH_END.format(n): (n, "end") for n in range(len(cuts))})
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor in markers:
                number, which = markers[anchor]
                (starts if which == "start" else ends).setdefault(number, index)
    batch = PdfReader(io.BytesIO(document.write_pdf()))
    _forget_markers(batch)
    info = {key: value for key, value in (batch.metadata or {}).items() if key != "/Title"}
    lang = batch.root_object.get("/Lang")
    pdfs = {}
    for number, cut in enumerate(cuts):
        first, last = starts.get(number), ends.get(number)
        following = starts.get(number + 1, len(document.pages))
        if first is None or last is None or not first <= last == following - 1:
            log.warning("letter %s: its pages in the batch are not its own", cut.letter_id)
            continue
        writer = PdfWriter()
        writer.append(batch, pages=(first, last + 1), import_outline=True)
        writer.add_metadata({**info, "/Title": cut.title} if cut.title else info)
        if lang is not None:
            writer.root_object[NameObject("/Lang")] = lang
        out = io.BytesIO()
        writer.write(out)
        pdfs[cut.letter_id] = out.getvalue()
    return pdfs


def _forget_markers(batch: Any) -> None:
    """Drop the named destinations WeasyPrint made of the batch's markers (the only
    elements with an `id`: `_cut` leaves letters with ids of their own alone)."""
    names = batch.root_object.get("/Names")
    if names is not None and "/Dests" in names.get_object():
        del names.get_object()["/Dests"]
        if not names.get_object():
            del batch.root_object["/Names"]


@dataclass
class Rendered:
    """What `render_pdfs` made of some letters: the PDF of each letter it rendered, and
    why each other one could not be rendered."""

    pdfs: dict[int, bytes] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    # Letters rendered alone (not in a batch document), and how many documents were laid out.
    alone: list[int] = field(default_factory=list)
    documents: int = 0


def render_pdfs(letters: Sequence[Letter]) -> Rendered:
    """The PDFs of `letters` (not stored), as few documents as they allow laid out; each
    letter's text and pages are those `render_pdf` gives it. A letter that fails in a
    batch is rendered alone, and one that fails alone is reported, not raised."""
    done = Rendered()
    alone: list[Letter] = []
    try:
        contexts = letter_contexts(letters)
    except Exception:
        log.exception("reading the letters of a batch failed: each letter alone")
        contexts = {}
    groups: dict[tuple[str, str, str, str], list[_Cut]] = defaultdict(list)
    by_id = {letter.pk: letter for letter in letters}
    for letter in letters:
        if letter.pk not in contexts:
            alone.append(letter)
            continue
        try:
            cut = _cut(letter.pk, letter_html(letter, contexts[letter.pk]))
            _page_css(cut.page_rules, 0)  # refused here, not when its group is laid out
        except Exception as exc:
            if not isinstance(exc, CannotBatch):
                log.warning("letter %s: not in a batch: %r", letter.pk, exc)
            alone.append(letter)
            continue
        groups[cut.key].append(cut)
    for cuts in groups.values():
        if len(cuts) == 1:
            alone.append(by_id[cuts[0].letter_id])
            continue
        try:
            pdfs = _render_group(cuts)
            done.documents += 1
        except Exception:
            log.exception("a batch of %s letters failed: each letter alone", len(cuts))
            pdfs = {}
        done.pdfs.update(pdfs)
        alone += [by_id[cut.letter_id] for cut in cuts if cut.letter_id not in pdfs]
    for letter in sorted(alone, key=lambda letter: letter.pk):
        try:
            done.pdfs[letter.pk] = render_pdf(letter)
            done.alone.append(letter.pk)
            done.documents += 1
        except Exception as exc:
            done.failures[letter.pk] = f"{type(exc).__name__}: {exc}"
    return done


@dataclass
class Stored:
    """What `store_pdfs` did with some letters: rendered and stored now, stored before (or
    gone), and not stored, with why."""

    stored: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    failures: dict[int, str] = field(default_factory=dict)


def store_pdfs(letter_ids: Iterable[int]) -> Stored:
    """`store_pdf` for a batch of letters: those without a PDF are rendered together
    (`render_pdfs`), then each is stored with its sha256 in a transaction of its own; a
    letter already stored is not rendered again. One letter failing fails none of the
    others."""
    ids = sorted(set(letter_ids))
    letters = list(Letter.objects.select_related("dealer", "escalation").filter(pk__in=ids))
    outcome = Stored(
        already=sorted(set(ids) - {letter.pk for letter in letters if not letter.sha256})
    )
    rendered = render_pdfs([letter for letter in letters if not letter.sha256])
    outcome.failures.update(rendered.failures)
    for letter_id, pdf in sorted(rendered.pdfs.items()):
        try:
            _store(letter_id, pdf)
        except Exception as exc:
            outcome.failures[letter_id] = f"{type(exc).__name__}: {exc}"
        else:
            outcome.stored.append(letter_id)
    return outcome


def mark_failed(letter_id: int, reason: str) -> None:
    """Record that rendering gave up, and why (after the task's last retry)."""
    Letter.objects.filter(pk=letter_id, sha256="").update(
        status=Letter.Status.FAILED, failure=reason[:2000]
    )

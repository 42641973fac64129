"""Letters rendered in batches (`dunning.printing.render_pdfs`, `store_pdfs`, the Celery
task `render_letters`): one document laid out for many letters, cut into one PDF per
letter that reads like the letter rendered alone, page numbers "1 of N" of its own; each
letter stored once; a letter that fails does not fail the others."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from pypdf import PdfReader

from dunning import printing, tasks
from dunning.models import Letter
from receivables.models import Order
from tests.collection_helpers import TODAY
from tests.factories import DealerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def dealer_with(code: str, items: int, language: str = "en", **fields: Any) -> Any:
    """A dealer with `items` overdue orders on TODAY."""
    dealer = DealerFactory(code=code, language=language, **fields)
    Order.objects.bulk_create(
        Order(
            number=f"{code}-{n:03d}",
            dealer=dealer,
            ordered_on=TODAY - dt.timedelta(days=60 + n),
            due_on=TODAY - dt.timedelta(days=30 + n),
            amount=Decimal("100.00") + n,
        )
        for n in range(items)
    )
    return dealer


def letter_to(dealer: Any, kind: str = Letter.Kind.REMINDER, level: int = 1, **fields: Any):
    return Letter.objects.create(
        dealer=dealer,
        kind=kind,
        level=level,
        issued_on=TODAY,
        cycle_started_on=TODAY,
        amount=Decimal("1.00"),
        **fields,
    )


def pages_of(pdf: bytes) -> list[tuple[str, list[tuple[str, float, float]]]]:
    """Each page's text, and each run of text with where it starts on the page."""
    pages = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        runs: list[tuple[str, float, float]] = []

        def visit(text: str, cm: Any, tm: Any, _font: Any, _size: Any, runs: Any = runs) -> None:
            if text.strip():
                x, y = cm[4] + tm[4] * cm[0], cm[5] + tm[5] * cm[3]
                runs.append((text, round(x, 1), round(y, 1)))

        pages.append((page.extract_text(visitor_text=visit), runs))
    return pages


def described(pdf: bytes) -> tuple[Any, ...]:
    """What a reader of the PDF sees besides its pages: title, outline, language."""
    reader = PdfReader(io.BytesIO(pdf))

    def titles(outline: list[Any], depth: int = 0) -> list[tuple[int, str]]:
        found = []
        for item in outline:
            if isinstance(item, list):
                found += titles(item, depth + 1)
            else:
                found.append((depth, item["/Title"]))
        return found

    return (
        (reader.metadata or {}).get("/Title"),
        titles(reader.outline),
        reader.root_object.get("/Lang"),
    )


def page_numbers(pdf: bytes) -> list[tuple[int, int]]:
    found = []
    for text, _runs in pages_of(pdf):
        (number,) = re.findall(r"Page (\d+) of (\d+)", text)
        found.append((int(number[0]), int(number[1])))
    return found


def test_a_batch_gives_each_letter_the_text_pages_and_page_numbers_it_has_alone() -> None:
    letters = [
        letter_to(dealer_with("B1", 1)),
        letter_to(dealer_with("B2", 30)),  # two pages
        letter_to(dealer_with("B3", 4), level=2),
        letter_to(dealer_with("B4", 75)),  # three pages
        letter_to(dealer_with("B5", 2, language="es")),
        letter_to(dealer_with("B6", 40, language="es")),
        letter_to(dealer_with("B7", 3, language="zh-hans", name="饲料经销商 七")),
        letter_to(dealer_with("B8", 30, language="zh-hans", name="饲料经销商 八")),
        letter_to(
            dealer_with("B9", 5),
            kind=Letter.Kind.FINAL_DEMAND,
            level=3,
            deadline=dt.date(2026, 3, 16),
            interest_rate_percent=Decimal("9.00"),
        ),
    ]
    letters += [letter_to(dealer_with(f"C{n}", n)) for n in range(20, 27)]  # near a page end
    chosen = Letter.objects.select_related("dealer", "escalation").order_by("pk")

    rendered = printing.render_pdfs(list(chosen))

    assert rendered.failures == {}
    # One document per language: the final demand shares the reminders' page and styles.
    assert rendered.alone == []
    assert rendered.documents == 3
    for letter in chosen:
        alone = printing.render_pdf(letter)
        batched = rendered.pdfs[letter.pk]
        assert pages_of(batched) == pages_of(alone), letter.dealer.code
        assert described(batched) == described(alone)
    for letter in chosen.filter(dealer__language="en", kind=Letter.Kind.REMINDER):
        count = len(PdfReader(io.BytesIO(rendered.pdfs[letter.pk])).pages)
        assert page_numbers(rendered.pdfs[letter.pk]) == [(n, count) for n in range(1, count + 1)]
    assert {len(PdfReader(io.BytesIO(rendered.pdfs[x.pk])).pages) for x in letters[:4]} == {1, 2, 3}


def test_the_letters_of_a_batch_are_read_in_one_query_for_their_items(
    django_assert_num_queries: Any,
) -> None:
    for n in range(12):
        letter_to(dealer_with(f"Q{n}", 1 + n % 4))
    letters = list(Letter.objects.select_related("dealer", "escalation"))

    with django_assert_num_queries(1):
        contexts = printing.letter_contexts(letters)

    for letter in letters:
        alone = printing.letter_context(letter)
        assert [o.number for o in contexts[letter.pk]["items"]] == [
            o.number for o in alone["items"]
        ]
        assert contexts[letter.pk]["total"] == alone["total"]


def test_storing_a_batch_twice_renders_it_once() -> None:
    ids = [letter_to(dealer_with(f"T{n}", 2)).pk for n in range(3)]
    earlier = letter_to(dealer_with("T9", 2))
    printing.store_pdf(earlier.pk)
    ids.append(earlier.pk)
    stored_before = Letter.objects.get(pk=earlier.pk).sha256

    with mock.patch.object(printing, "render_pdf", wraps=printing.render_pdf) as alone:
        first = printing.store_pdfs(ids)
    alone.assert_not_called()  # the three new ones in one document; the fourth not again
    assert (sorted(first.stored), first.already, first.failures) == (sorted(ids[:3]), [ids[3]], {})
    sums = dict(Letter.objects.filter(pk__in=ids).values_list("pk", "sha256"))
    assert sums[earlier.pk] == stored_before

    with mock.patch.object(printing, "_render_group") as group:
        again = printing.store_pdfs(ids)
    group.assert_not_called()
    assert (again.stored, sorted(again.already)) == ([], sorted(ids))
    for letter in Letter.objects.filter(pk__in=ids):
        assert letter.status == Letter.Status.READY
        assert letter.sha256 == sums[letter.pk]
        assert printing.hashlib.sha256(letter.pdf.read()).hexdigest() == letter.sha256


def failing_for(letter_id: int) -> Any:
    """`letter_html` that fails for one letter, in a batch and alone."""
    real = printing.letter_html

    def letter_html(letter: Letter, context: Any = None) -> str:
        if letter.pk == letter_id:
            raise RuntimeError("no such font")
        return real(letter, context)

    return letter_html


def test_a_failing_letter_leaves_the_others_stored_and_is_marked_failed_after_retries() -> None:
    ids = [letter_to(dealer_with(f"F{n}", 2)).pk for n in range(4)]
    bad = ids[1]

    with (
        mock.patch.object(printing, "letter_html", side_effect=failing_for(bad)),
        mock.patch.object(printing, "render_pdf", wraps=printing.render_pdf) as alone,
        mock.patch.object(printing, "_render_group", wraps=printing._render_group) as group,
    ):
        result = tasks.render_letters.apply(args=[ids])

    assert result.failed()
    assert isinstance(result.result, tasks.LettersNotRendered)
    assert group.call_count == 1  # the others in one document, once
    # The bad letter alone on the first try and on each of the three retries.
    assert [call.args[0].pk for call in alone.call_args_list] == [bad] * 4
    letters = {letter.pk: letter for letter in Letter.objects.filter(pk__in=ids)}
    assert letters[bad].status == Letter.Status.FAILED
    assert "RuntimeError: no such font" in letters[bad].failure
    assert not letters[bad].sha256
    for letter_id in set(ids) - {bad}:
        assert letters[letter_id].status == Letter.Status.READY
        assert letters[letter_id].sha256


def test_a_batch_document_that_fails_renders_each_letter_alone() -> None:
    ids = [letter_to(dealer_with(f"G{n}", 2)).pk for n in range(3)]

    with mock.patch.object(printing, "_render_group", side_effect=MemoryError):
        result = tasks.render_letters.apply(args=[ids])

    assert result.successful()
    assert result.result == {"stored": 3, "already": 0}
    assert set(Letter.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"ready"}


def test_a_batch_that_fails_as_a_whole_is_retried_then_its_letters_are_marked_failed() -> None:
    ids = [letter_to(dealer_with(f"H{n}", 2)).pk for n in range(2)]
    printing.store_pdf(ids[0])

    with mock.patch.object(printing, "store_pdfs", side_effect=ConnectionError("db gone")) as run:
        result = tasks.render_letters.apply(args=[ids])

    assert result.failed()
    assert run.call_count == 4
    first, second = Letter.objects.filter(pk__in=ids).order_by("pk")
    assert first.status == Letter.Status.READY  # stored before: untouched
    assert (second.status, second.failure) == (Letter.Status.FAILED, "ConnectionError: db gone")


def test_letters_are_enqueued_in_batches_of_a_kind_and_language_after_the_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    dealer = dealer_with("E1", 1)
    letters = [
        Letter(pk=n, dealer=dealer, kind=kind, language=language, issued_on=TODAY)
        for n, (kind, language) in enumerate(
            [("reminder", "en"), ("final_demand", "en"), ("reminder", "es")] * 3
            + [("reminder", "en")] * 2,
            start=1,
        )
    ]

    with mock.patch.object(tasks.render_letters, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            batches = tasks.enqueue_rendering([*letters, Letter(dealer=dealer)], batch_size=4)
        delay.assert_not_called()
        for callback in callbacks:
            callback()

    assert batches == [[2, 5, 8, 1], [4, 7, 10, 11], [3, 6, 9]]
    assert [call.args[0] for call in delay.call_args_list] == batches


@pytest.mark.parametrize(
    ("page_rules", "expected"),
    [
        (
            '@page { size: A4; @bottom-right { content: "Page " counter(page) " of "'
            " counter(pages); } }",
            '@page rd-letter-3 { size: A4; @bottom-right { content: "Page " counter(page) '
            '" of " target-counter("#rd-letter-end-3", page); } }',
        ),
        (
            "@page :first { @top-left { content: counter(pages, upper-roman) } }",
            "@page :nth(1 of rd-letter-3) { @top-left { content: "
            'target-counter("#rd-letter-end-3", page, upper-roman) } }',
        ),
    ],
)
def test_a_letters_page_rules_are_its_own_in_a_batch(page_rules: str, expected: str) -> None:
    import tinycss2

    rules = tinycss2.parse_stylesheet(page_rules, skip_whitespace=True)

    css = printing._page_css(rules, 3).splitlines()

    assert css == [expected, "@page :nth(1 of rd-letter-3) { counter-reset: page 1; }"]


@pytest.mark.parametrize(
    "style",
    [
        "@page :left { margin-left: 30mm }",
        "h2 { break-before: page }",
        "@media print { .annex { page: landscape } }",
        "p { margin-break: keep }",
    ],
)
def test_a_page_the_batch_would_lay_out_differently_is_rendered_alone(style: str) -> None:
    page = f"<!DOCTYPE html><html><head><style>{style}</style></head><body><p>x</p></body></html>"

    with pytest.raises(printing.CannotBatch):
        cut = printing._cut(1, page)
        printing._page_css(cut.page_rules, 0)


def test_statements_of_account_in_a_batch_read_as_they_do_alone() -> None:
    for n, items in enumerate((3, 45)):
        letter_to(
            dealer_with(f"R{n}", items),
            kind=Letter.Kind.RECONCILIATION,
            as_of=TODAY,
            reply_by=TODAY + dt.timedelta(days=21),
            reply_token=f"token-{n}",
        )
    chosen = list(Letter.objects.select_related("dealer", "escalation").order_by("pk"))

    rendered = printing.render_pdfs(chosen)

    assert (rendered.failures, rendered.alone, rendered.documents) == ({}, [], 1)
    for letter in chosen:
        alone = printing.render_pdf(letter)
        assert pages_of(rendered.pdfs[letter.pk]) == pages_of(alone)
        assert described(rendered.pdfs[letter.pk]) == described(alone)

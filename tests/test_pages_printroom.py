"""The print room's pages (dunning.views.printroom): the day's letters in postal order,
the print run, posting with tracking numbers, return receipts, e-mail, one letter with
its PDF and reply, the reconciliation letters; who sees and who may change what; and a
query count that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
import io
import smtplib
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader, PdfWriter

from dunning import printing
from dunning.models import Letter
from dunning.services.reconciliation import record_reply
from dunning.tasks import render_letters
from receivables.models import Agency, Contact, Dealer, ExchangeRate, Order
from tests.collection_helpers import NOW, TODAY, overdue_dealer
from tests.factories import ContactFactory, DealerFactory, UserFactory
from tests.test_page_query_counts import grow_book

pytestmark = pytest.mark.django_db

YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def rendered_later(monkeypatch: Any) -> list[int]:
    """New letters are queued for rendering, not rendered, in these tests."""
    queued: list[int] = []
    monkeypatch.setattr(render_letters, "delay_on_commit", queued.extend)
    return queued


def blank_pdf(width: int = 200) -> bytes:
    """A one-page PDF whose page width tells the letters apart."""
    writer = PdfWriter()
    writer.add_blank_page(width=width, height=300)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def letter_for(
    dealer: Dealer,
    *,
    kind: str = Letter.Kind.REMINDER,
    level: int = 1,
    status: str = Letter.Status.READY,
    issued_on: dt.date = TODAY,
    width: int = 200,
    **fields: Any,
) -> Letter:
    """A letter; a ready or posted one with a small stored PDF."""
    letter = Letter.objects.create(
        dealer=dealer,
        kind=kind,
        level=level,
        issued_on=issued_on,
        cycle_started_on=issued_on,
        amount=Decimal("1234.50"),
        status=status,
        **fields,
    )
    if status in (Letter.Status.READY, Letter.Status.POSTED):
        pdf = blank_pdf(width)
        letter.pdf.save(f"letter-{letter.pk}.pdf", ContentFile(pdf), save=False)
        letter.sha256 = "0" * 64
        letter.save(update_fields=["pdf", "sha256"])
    return letter


def reconciliation_letter(dealer: Dealer, **fields: Any) -> Letter:
    values: dict[str, Any] = {
        "kind": Letter.Kind.RECONCILIATION,
        "issued_on": TODAY - dt.timedelta(days=10),
        "as_of": TODAY - dt.timedelta(days=10),
        "reply_by": TODAY + dt.timedelta(days=20),
    }
    values.update(fields)
    letter = letter_for(dealer, **values)
    letter.reply_token = f"token-{letter.pk}"
    letter.save(update_fields=["reply_token"])
    return letter


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def row_ids(response: Any) -> list[int]:
    return [row.letter.pk for row in response.context["rows"]]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def dealers(collector: Any) -> dict[str, Dealer]:
    """Three dealers of one collector, created out of postal order."""
    return {
        "berlin": DealerFactory(
            code="B1",
            name="Berliner Futter",
            country="DE",
            postal_code="10115",
            collector=collector,
        ),
        "vienna": DealerFactory(
            code="V1", name="Wiener Mühle", country="AT", postal_code="1010", collector=collector
        ),
        "hamburg": DealerFactory(
            code="H1", name="Hamburger Hof", country="DE", postal_code="20095", collector=collector
        ),
    }


# Today's letters


def test_the_print_room_needs_a_login(client: Client) -> None:
    response = client.get("/print-room/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_days_letters_in_postal_order_with_labels_status_and_pdf(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    berlin = letter_for(dealers["berlin"], kind=Letter.Kind.FINAL_DEMAND, level=3)
    hamburg = letter_for(dealers["hamburg"], status=Letter.Status.FAILED, failure="Font missing")
    vienna = letter_for(dealers["vienna"], level=2)
    letter_for(dealers["berlin"], issued_on=YESTERDAY)

    response = as_user(finance).get("/print-room/")

    assert response.status_code == 200
    assert row_ids(response) == [vienna.pk, berlin.pk, hamburg.pk]  # AT, DE 10115, DE 20095
    body = response.content.decode()
    assert "Final demand" in body
    assert "level 2" in body
    assert "Rendering failed" in body
    assert "Font missing" in body
    assert f"/print-room/letters/{berlin.pk}/pdf" in body
    assert f"/print-room/letters/{hamburg.pk}/pdf" not in body  # no PDF: no link
    table = body[body.index('<table class="data pr-letters') :]
    assert "final_demand" not in table
    assert ">failed<" not in table
    counts = {value: n for value, _label, n in response.context["counts"]}
    assert counts == {"rendering": 0, "ready": 2, "posted": 0, "failed": 1}
    assert response.context["ready_count"] == 2


def test_another_day_and_the_filters(finance: Any, dealers: dict[str, Dealer]) -> None:
    today_ready = letter_for(dealers["berlin"])
    today_failed = letter_for(dealers["vienna"], status=Letter.Status.FAILED)
    today_notice = letter_for(dealers["hamburg"], kind=Letter.Kind.INTEREST_NOTICE)
    earlier = letter_for(dealers["berlin"], issued_on=YESTERDAY, level=2)
    client = as_user(finance)

    assert row_ids(client.get(f"/print-room/?day={YESTERDAY}")) == [earlier.pk]
    assert row_ids(client.get("/print-room/?status=failed")) == [today_failed.pk]
    assert row_ids(client.get("/print-room/?kind=interest_notice")) == [today_notice.pk]
    by_kind = client.get("/print-room/?kind=reminder&status=ready")
    assert row_ids(by_kind) == [today_ready.pk]
    counts = {value: n for value, _label, n in by_kind.context["counts"]}
    assert counts["ready"] == 1 and counts["failed"] == 1  # counts follow the kind, not the status

    bad = client.get("/print-room/?day=2026-02-31")
    assert bad.status_code == 200
    assert bad.context["day"] == TODAY
    assert "Enter a valid date." in bad.content.decode()


def test_the_list_is_paginated(finance: Any, dealers: dict[str, Dealer]) -> None:
    Letter.objects.bulk_create(
        [
            Letter(dealer=dealers["berlin"], kind=Letter.Kind.REMINDER, level=n, issued_on=TODAY)
            for n in range(1, 56)
        ]
    )
    client = as_user(finance)

    first = client.get("/print-room/")
    second = client.get("/print-room/?page=2")

    assert len(first.context["rows"]) == 50
    assert len(second.context["rows"]) == 5
    assert "Page 2" in first.content.decode()
    assert not set(row_ids(first)) & set(row_ids(second))


# The print run


def test_the_print_run_is_one_pdf_of_the_ready_letters_in_postal_order(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    letter_for(dealers["hamburg"], width=230)
    letter_for(dealers["vienna"], width=210)
    letter_for(dealers["berlin"], width=220)
    letter_for(dealers["berlin"], level=2, status=Letter.Status.POSTED, posted_on=TODAY)
    letter_for(dealers["vienna"], level=2, status=Letter.Status.RENDERING)

    response = as_user(finance).get(f"/print-room/print-run.pdf?day={TODAY}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="print-run-2026-03-02.pdf"'
    assert response["X-Letters"] == "3"
    pages = PdfReader(io.BytesIO(response.content)).pages
    assert [round(float(page.mediabox.width)) for page in pages] == [210, 220, 230]


def test_the_print_run_reads_the_stored_letters(
    finance: Any, collector: Any, dealers: dict[str, Dealer]
) -> None:
    for key in ("hamburg", "berlin"):
        dealer = overdue_dealer(
            code=f"P{key[0].upper()}",
            name=dealers[key].name + " Filiale",
            country="DE",
            postal_code=dealers[key].postal_code,
            collector=collector,
        )
        printing.store_pdf(letter_for(dealer, status=Letter.Status.RENDERING).pk)

    response = as_user(finance).get("/print-room/print-run.pdf")

    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert text.index("Berliner Futter Filiale") < text.index("Hamburger Hof Filiale")


def test_no_letter_ready_gives_a_message_not_an_empty_pdf(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    letter_for(dealers["berlin"], status=Letter.Status.RENDERING)

    response = as_user(finance).get(f"/print-room/print-run.pdf?day={TODAY}", follow=True)

    assert response.redirect_chain[0][0] == f"/print-room/?day={TODAY}"
    assert response["Content-Type"].startswith("text/html")
    assert messages_of(response) == [
        "No letter of 2 Mar 2026 is ready to print: there is no print run."
    ]


# Mark posted


def post_letters(
    client: Client, picks: dict[int, str], posted_on: str = str(TODAY), query: str = ""
) -> Any:
    data: dict[str, Any] = {"posted_on": posted_on, "letter": [str(pk) for pk in picks]}
    data.update({f"tracking-{pk}": number for pk, number in picks.items()})
    return client.post(f"/print-room/mark-posted/{query}", data)


def test_mark_every_letter_posted_with_tracking_numbers(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    a = letter_for(dealers["berlin"])
    b = letter_for(dealers["vienna"])

    response = post_letters(
        as_user(finance), {a.pk: "RR123456785DE", b.pk: "RR987654321DE"}, query="?kind=reminder"
    )

    assert response.status_code == 302
    assert response["Location"] == "/print-room/?kind=reminder"
    for letter, number in ((a, "RR123456785DE"), (b, "RR987654321DE")):
        letter.refresh_from_db()
        assert letter.status == Letter.Status.POSTED
        assert letter.posted_on == TODAY
        assert letter.tracking_number == number
        assert letter.delivery == Letter.Delivery.POST
        assert letter.history.first().history_user == finance


def test_mark_some_letters_posted(finance: Any, dealers: dict[str, Dealer]) -> None:
    a = letter_for(dealers["berlin"])
    b = letter_for(dealers["vienna"])
    client = as_user(finance)

    response = post_letters(client, {a.pk: ""}, posted_on=str(TODAY + dt.timedelta(days=1)))

    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.posted_on, a.tracking_number) == (
        Letter.Status.POSTED,
        TODAY + dt.timedelta(days=1),
        "",
    )
    assert b.status == Letter.Status.READY
    assert messages_of(client.get(response["Location"])) == [
        "1 letter marked posted on 3 Mar 2026."
    ]


def test_one_refused_letter_posts_none_and_says_why_on_its_row(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    ready = letter_for(dealers["berlin"])
    rendering = letter_for(dealers["vienna"], status=Letter.Status.RENDERING)

    response = post_letters(as_user(finance), {ready.pk: "RR1", rendering.pk: "RR2"})

    assert response.status_code == 400
    ready.refresh_from_db()
    assert (ready.status, ready.posted_on, ready.tracking_number) == (
        Letter.Status.READY,
        None,
        "",
    )
    assert ready.history.count() == 2  # created, stored: the rolled-back posting left nothing
    rows = {row.letter.pk: row for row in response.context["rows"]}
    assert rows[rendering.pk].errors == [
        f"Letter #{rendering.pk} cannot be posted: it is rendering."
    ]
    assert rows[ready.pk].errors == []
    assert rows[ready.pk].checked and rows[ready.pk].tracking == "RR1"  # kept for a retry
    body = response.content.decode()
    assert "Nothing was marked posted" in body
    assert f"Letter #{rendering.pk} cannot be posted: it is rendering." in body


@pytest.mark.parametrize(
    ("posted_on", "tracking", "error"),
    [
        (str(YESTERDAY), "RR1", "A letter is posted on or after its date, 2026-03-02."),
        (str(TODAY), "X" * 61, "Ensure this value has at most 60 characters (it has 61)."),
        (str(TODAY), "RR\n1", "Use letters, digits and spaces only."),
    ],
)
def test_bad_posting_input_is_shown_on_the_rows_and_changes_nothing(
    finance: Any, dealers: dict[str, Dealer], posted_on: str, tracking: str, error: str
) -> None:
    a = letter_for(dealers["berlin"])
    b = letter_for(dealers["vienna"])

    response = post_letters(as_user(finance), {a.pk: "RR0", b.pk: tracking}, posted_on=posted_on)

    assert response.status_code == 400
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.READY}
    rows = {row.letter.pk: row for row in response.context["rows"]}
    assert error in rows[b.pk].errors
    assert f"Letter #{b.pk}: {error}" in response.content.decode().replace("&#x27;", "'")


def test_posting_nothing_or_no_date_is_a_form_error(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    a = letter_for(dealers["berlin"])
    client = as_user(finance)

    nothing = client.post("/print-room/mark-posted/", {"posted_on": str(TODAY)})
    no_date = client.post("/print-room/mark-posted/", {"posted_on": "", "letter": [str(a.pk)]})

    assert nothing.status_code == 400
    assert "Tick the letters that went into the post." in nothing.content.decode()
    assert no_date.status_code == 400
    assert no_date.context["post_form"].errors["posted_on"] == ["This field is required."]
    a.refresh_from_db()
    assert a.status == Letter.Status.READY


# Return receipts


def test_a_receipt_date_per_posted_letter_from_the_list(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    posted = letter_for(dealers["berlin"], status=Letter.Status.POSTED, posted_on=TODAY)
    client = as_user(finance)
    assert (
        f"/print-room/letters/{posted.pk}/receipt/" in client.get("/print-room/").content.decode()
    )

    response = client.post(
        f"/print-room/letters/{posted.pk}/receipt/?status=posted",
        {"from": "list", "received_on": str(TODAY + dt.timedelta(days=2))},
    )

    assert response.status_code == 302
    assert response["Location"] == "/print-room/?status=posted"
    posted.refresh_from_db()
    assert posted.receipt_on == TODAY + dt.timedelta(days=2)


def test_a_receipt_before_the_posting_is_an_error_on_its_row(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    posted = letter_for(dealers["berlin"], status=Letter.Status.POSTED, posted_on=TODAY)

    response = as_user(finance).post(
        f"/print-room/letters/{posted.pk}/receipt/",
        {"from": "list", "received_on": str(YESTERDAY)},
    )

    assert response.status_code == 400
    row = response.context["rows"][0]
    assert row.errors == ["The receipt cannot be before the posting, 2026-03-02."]
    assert row.received_on == str(YESTERDAY)
    posted.refresh_from_db()
    assert posted.receipt_on is None


def test_a_receipt_on_the_letters_page(finance: Any, dealers: dict[str, Dealer]) -> None:
    posted = letter_for(dealers["berlin"], status=Letter.Status.POSTED, posted_on=TODAY)

    bad = as_user(finance).post(f"/print-room/letters/{posted.pk}/receipt/", {"received_on": ""})
    good = as_user(finance).post(
        f"/print-room/letters/{posted.pk}/receipt/", {"received_on": str(TODAY)}
    )

    assert bad.status_code == 400
    assert bad.context["receipt_form"].errors == {"received_on": ["This field is required."]}
    assert good["Location"] == f"/print-room/letters/{posted.pk}/"
    posted.refresh_from_db()
    assert posted.receipt_on == TODAY


# E-mail


def test_send_a_letter_by_email_with_its_pdf(finance: Any, dealers: dict[str, Dealer]) -> None:
    ContactFactory(dealer=dealers["berlin"], role=Contact.Role.OWNER, email="owner@berlin.example")
    ContactFactory(
        dealer=dealers["berlin"], role=Contact.Role.CONTROLLER, email="books@berlin.example"
    )
    letter = letter_for(dealers["berlin"], kind=Letter.Kind.FINAL_DEMAND, level=3)
    client = as_user(finance)
    page = client.get(f"/print-room/letters/{letter.pk}/")
    assert page.context["email_form"]["to"].value() == "books@berlin.example"

    response = client.post(
        f"/print-room/letters/{letter.pk}/email/", {"to": "books@berlin.example"}
    )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.status == Letter.Status.POSTED
    assert letter.posted_on == TODAY
    assert letter.delivery == Letter.Delivery.EMAIL
    assert letter.email_to == "books@berlin.example"
    [sent] = mail.outbox
    assert sent.to == ["books@berlin.example"]
    assert "Final demand" in sent.subject and "Berliner Futter" in sent.subject
    assert "final demand" in sent.body
    [(name, content, mimetype)] = sent.attachments
    assert (name, mimetype) == ("final-demand-B1-2026-03-02.pdf", "application/pdf")
    assert content == letter.pdf.open("rb").read()
    shown = client.get(f"/print-room/letters/{letter.pk}/").content.decode()
    assert "Sent by e-mail" in shown and "books@berlin.example" in shown


def test_send_by_email_from_the_list(finance: Any, dealers: dict[str, Dealer]) -> None:
    letter = letter_for(dealers["vienna"])
    client = as_user(finance)

    bad = client.post(
        f"/print-room/letters/{letter.pk}/email/?day={TODAY}",
        {"from": "list", "to": "not an address"},
    )
    good = client.post(
        f"/print-room/letters/{letter.pk}/email/?day={TODAY}",
        {"from": "list", "to": "office@wien.example"},
    )

    assert bad.status_code == 400
    row = bad.context["rows"][0]
    assert row.errors == ["Enter a valid email address."]
    assert row.email_open and row.email_to == "not an address"
    assert good["Location"] == f"/print-room/?day={TODAY}"
    assert [m.to for m in mail.outbox] == [["office@wien.example"]]


def test_only_a_ready_letter_is_emailed(finance: Any, dealers: dict[str, Dealer]) -> None:
    rendering = letter_for(dealers["berlin"], status=Letter.Status.RENDERING)
    posted = letter_for(dealers["vienna"], status=Letter.Status.POSTED, posted_on=TODAY)
    client = as_user(finance)

    for letter in (rendering, posted):
        response = client.post(
            f"/print-room/letters/{letter.pk}/email/", {"to": "x@example.com"}, follow=True
        )
        assert messages_of(response) == [
            f"Letter #{letter.pk} cannot be sent: it is {letter.get_status_display().lower()}."
        ]
    assert mail.outbox == []
    rendering.refresh_from_db()
    assert rendering.delivery == Letter.Delivery.POST and rendering.email_to == ""


def test_a_refused_email_records_nothing(finance: Any, dealers: dict[str, Dealer]) -> None:
    letter = letter_for(dealers["berlin"])

    with mock.patch(
        "django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone")
    ):
        response = as_user(finance).post(
            f"/print-room/letters/{letter.pk}/email/", {"to": "x@example.com"}, follow=True
        )

    assert "the mail server refused it (gone)" in messages_of(response)[0]
    letter.refresh_from_db()
    assert (letter.status, letter.posted_on, letter.email_to) == (Letter.Status.READY, None, "")


# One letter


def test_the_letters_page_and_its_pdf(finance: Any, dealers: dict[str, Dealer]) -> None:
    letter = letter_for(
        dealers["berlin"],
        kind=Letter.Kind.FINAL_DEMAND,
        level=3,
        deadline=TODAY + dt.timedelta(days=14),
        interest_rate_percent=Decimal("9.00"),
        status=Letter.Status.POSTED,
        posted_on=TODAY,
        tracking_number="RR123456785DE",
        receipt_on=TODAY + dt.timedelta(days=3),
    )
    client = as_user(finance)

    page = client.get(f"/print-room/letters/{letter.pk}/")
    pdf = client.get(f"/print-room/letters/{letter.pk}/pdf")

    body = page.content.decode()
    for shown in (
        "Final demand",
        "Berliner Futter",
        "1,234.50",
        "16 Mar 2026",  # dates in the reader's locale, medium format (local_date)
        "9.00% a year",
        "RR123456785DE",
        "Signed 5 Mar 2026",
    ):
        assert shown in body
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert "final-demand-B1-2026-03-02.pdf" in pdf["Content-Disposition"]
    assert b"".join(pdf.streaming_content) == letter.pdf.open("rb").read()


def test_no_pdf_before_rendering_and_no_letter_out_of_sight(
    finance: Any, collector: Any, other_collector: Any, dealers: dict[str, Dealer]
) -> None:
    rendering = letter_for(dealers["berlin"], status=Letter.Status.RENDERING)
    theirs = letter_for(DealerFactory(code="T1", collector=other_collector))

    assert as_user(finance).get(f"/print-room/letters/{rendering.pk}/pdf").status_code == 404
    for url in (
        f"/print-room/letters/{theirs.pk}/",
        f"/print-room/letters/{theirs.pk}/pdf",
        "/print-room/letters/999999/",
    ):
        assert as_user(collector).get(url).status_code == 404
    assert as_user(other_collector).get(f"/print-room/letters/{theirs.pk}/pdf").status_code == 200


# Replies to reconciliation letters


def test_record_a_confirmed_reply(finance: Any, dealers: dict[str, Dealer]) -> None:
    letter = reconciliation_letter(dealers["berlin"])
    client = as_user(finance)
    assert 'name="answer"' in client.get(f"/print-room/letters/{letter.pk}/").content.decode()

    response = client.post(
        f"/print-room/letters/{letter.pk}/reply/",
        {"answer": "confirmed", "replied_on": str(YESTERDAY), "disputed_balance": ""},
    )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.reply, letter.replied_on, letter.disputed_balance) == (
        Letter.Reply.CONFIRMED,
        YESTERDAY,
        None,
    )
    assert letter.reply_channel == Letter.ReplyChannel.FINANCE
    assert letter.reply_recorded_at == NOW
    body = client.get(f"/print-room/letters/{letter.pk}/").content.decode()
    assert "Confirmed" in body and "Entered by finance" in body
    assert 'name="answer"' not in body  # answered: no form any more


def test_record_a_disputed_reply_with_a_scan(finance: Any, collector: Any) -> None:
    dealer = overdue_dealer(code="DS1", days=20, amount="1234.50", collector=collector)
    letter = reconciliation_letter(dealer)
    scan = SimpleUploadedFile("slip.pdf", b"%PDF-1.4 signed slip", content_type="application/pdf")
    client = as_user(finance)

    response = client.post(
        f"/print-room/letters/{letter.pk}/reply/",
        {
            "answer": "disputed",
            "replied_on": str(TODAY),
            "disputed_balance": "1,000.00",
            "note": "Credit note 17 not booked.",
            "scan": scan,
        },
    )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.reply == Letter.Reply.DISPUTED
    assert letter.disputed_balance == Decimal("1000.00")
    assert letter.reply_note == "Credit note 17 not booked."
    order = Order.objects.get(dealer=dealer)
    assert order.disputed and order.disputed_amount == Decimal("234.50")
    body = client.get(f"/print-room/letters/{letter.pk}/").content.decode()
    assert "Disputed" in body and "1,000.00" in body and "Credit note 17" in body
    scan_response = client.get(f"/print-room/letters/{letter.pk}/reply-scan")
    assert scan_response["Content-Type"] == "application/pdf"
    assert b"".join(scan_response.streaming_content) == b"%PDF-1.4 signed slip"


def test_a_reply_from_the_reply_page_shows_when_and_where_from(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    letter = reconciliation_letter(dealers["berlin"])
    record_reply(
        letter_id=letter.pk,
        answer="confirmed",
        replied_on=TODAY,
        by=None,
        channel=Letter.ReplyChannel.REPLY_PAGE,
        address="203.0.113.7",
        today=TODAY,
        now=NOW,
    )

    body = as_user(finance).get(f"/print-room/letters/{letter.pk}/").content.decode()

    assert "Reply page" in body
    assert "203.0.113.7" in body
    assert "2 Mar 2026 15:30" in body  # the business time zone's clock


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"answer": "disputed"}, "disputed_balance", "Give the balance the dealer believes"),
        ({"answer": "disputed", "disputed_balance": "12x"}, "disputed_balance", "Enter an amount"),
        ({"answer": "confirmed", "disputed_balance": "5.00"}, "disputed_balance", "no other"),
        ({"answer": "maybe"}, "answer", "Select a valid choice"),
        ({"answer": "confirmed", "replied_on": "2026-03-09"}, "replied_on", "after today"),
    ],
)
def test_a_bad_reply_is_a_form_error_and_changes_nothing(
    finance: Any, dealers: dict[str, Dealer], data: dict[str, str], field: str, error: str
) -> None:
    letter = reconciliation_letter(dealers["berlin"])

    response = as_user(finance).post(
        f"/print-room/letters/{letter.pk}/reply/", {"replied_on": str(TODAY), **data}
    )

    assert response.status_code == 400
    assert error in " ".join(response.context["reply_form"].errors[field])
    letter.refresh_from_db()
    assert letter.reply == "" and letter.replied_on is None


def test_only_a_reconciliation_letter_takes_a_reply(
    finance: Any, dealers: dict[str, Dealer]
) -> None:
    reminder = letter_for(dealers["berlin"])

    response = as_user(finance).post(
        f"/print-room/letters/{reminder.pk}/reply/",
        {"answer": "confirmed", "replied_on": str(TODAY)},
    )

    assert response.status_code == 404
    reminder.refresh_from_db()
    assert reminder.reply == ""


def test_a_second_reply_is_refused_with_a_message(finance: Any, dealers: dict[str, Dealer]) -> None:
    letter = reconciliation_letter(dealers["berlin"], reply="confirmed", replied_on=TODAY)

    response = as_user(finance).post(
        f"/print-room/letters/{letter.pk}/reply/",
        {"answer": "disputed", "replied_on": str(TODAY), "disputed_balance": "1.00"},
        follow=True,
    )

    assert "already has its reply" in messages_of(response)[0]
    letter.refresh_from_db()
    assert letter.reply == Letter.Reply.CONFIRMED


# Reconciliation letters


def test_the_reconciliation_letters_by_state(finance: Any, dealers: dict[str, Dealer]) -> None:
    awaiting = reconciliation_letter(dealers["berlin"])
    late = reconciliation_letter(dealers["vienna"], reply_by=YESTERDAY)
    replied = reconciliation_letter(
        dealers["hamburg"], reply="disputed", replied_on=TODAY, disputed_balance=Decimal("10.00")
    )
    letter_for(dealers["berlin"])  # a reminder is not one
    client = as_user(finance)

    everything = client.get("/print-room/reconciliation/")

    assert [letter.pk for letter in everything.context["letters"]] == [
        replied.pk,
        late.pk,
        awaiting.pk,
    ]
    counts = {key: n for key, _label, n in everything.context["counts"]}
    assert counts == {"awaiting": 1, "late": 1, "replied": 1}
    body = everything.content.decode()
    assert "No reply" in body and "Awaiting" in body and "Disputed" in body
    for state, letter in (("awaiting", awaiting), ("late", late), ("replied", replied)):
        shown = client.get(f"/print-room/reconciliation/?state={state}").context["letters"]
        assert [row.pk for row in shown] == [letter.pk]


def test_the_reconciliation_letters_are_paginated(finance: Any, dealers: dict[str, Dealer]) -> None:
    Letter.objects.bulk_create(
        [
            Letter(
                dealer=dealers["berlin"],
                kind=Letter.Kind.RECONCILIATION,
                level=n,
                issued_on=TODAY,
                as_of=TODAY,
                reply_by=TODAY + dt.timedelta(days=30),
            )
            for n in range(1, 53)
        ]
    )
    client = as_user(finance)

    assert len(client.get("/print-room/reconciliation/").context["letters"]) == 50
    assert len(client.get("/print-room/reconciliation/?page=2").context["letters"]) == 2


def test_issue_a_new_reconciliation_letter(
    finance: Any, collector: Any, rendered_later: list[int]
) -> None:
    dealer = overdue_dealer(code="NEW1", days=20, amount="500.00", collector=collector)
    client = as_user(finance)
    form = client.get("/print-room/reconciliation/").context["form"]
    assert form["as_of"].value() == TODAY

    response = client.post(
        "/print-room/reconciliation/new/", {"dealer": "NEW1", "as_of": str(YESTERDAY)}
    )

    letter = Letter.objects.get(dealer=dealer)
    assert response["Location"] == f"/print-room/letters/{letter.pk}/"
    assert (letter.kind, letter.as_of, letter.amount) == (
        Letter.Kind.RECONCILIATION,
        YESTERDAY,
        Decimal("500.00"),
    )
    assert letter.reply_by is not None and letter.reply_token
    assert rendered_later == [letter.pk]


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"dealer": "NOPE", "as_of": str(TODAY)}, "dealer", "There is no dealer with the code"),
        ({"dealer": "NEW1", "as_of": "2026-03-03"}, "as_of", "cannot be as of a future day"),
        ({"dealer": "NEW1", "as_of": ""}, "as_of", "This field is required."),
        ({"dealer": "", "as_of": str(TODAY)}, "dealer", "This field is required."),
    ],
)
def test_a_bad_new_reconciliation_letter_is_a_form_error(
    finance: Any, data: dict[str, str], field: str, error: str
) -> None:
    DealerFactory(code="NEW1")

    response = as_user(finance).post("/print-room/reconciliation/new/", data)

    assert response.status_code == 400
    assert error in " ".join(response.context["form"].errors[field])
    assert not Letter.objects.exists()


def test_a_collector_cannot_issue_for_another_collectors_dealer(
    manager: Any, collector: Any, other_collector: Any
) -> None:
    DealerFactory(code="THEIRS", collector=other_collector)
    collector.user_permissions.add(*_perms("add_letter"))

    response = as_user(collector).post(
        "/print-room/reconciliation/new/", {"dealer": "THEIRS", "as_of": str(TODAY)}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["dealer"] == [
        "There is no dealer with the code 'THEIRS'."
    ]
    assert not Letter.objects.exists()


# Who sees what, and who may change it


def _perms(*codenames: str) -> list[Any]:
    from django.contrib.auth.models import Permission

    return list(
        Permission.objects.filter(content_type__app_label="dunning", codename__in=codenames)
    )


READ_PAGES = ["/print-room/", "/print-room/reconciliation/"]


def test_the_navigation_links_the_print_room_for_finance_and_auditors(
    finance: Any, collector: Any
) -> None:
    nobody = UserFactory(username="nobody")
    auditor = UserFactory(role="auditor", username="audrey")

    assert ">Print room</a>" in as_user(finance).get("/").content.decode()
    assert ">Print room</a>" in as_user(auditor).get("/").content.decode()
    # Collectors read a dealer's letters on its collection page; the print room is
    # finance's work, not on their menu.
    assert ">Print room</a>" not in as_user(collector).get("/worklist/").content.decode()
    assert ">Print room</a>" not in as_user(nobody).get("/").content.decode()
    assert as_user(nobody).get("/print-room/").status_code == 403
    current = as_user(finance).get("/print-room/reconciliation/").content.decode()
    assert 'aria-current="page">Print room</a>' in current


def test_an_auditor_reads_everything_and_changes_nothing(
    auditor: Any, dealers: dict[str, Dealer]
) -> None:
    ready = letter_for(dealers["berlin"])
    posted = letter_for(dealers["vienna"], status=Letter.Status.POSTED, posted_on=TODAY)
    answer = reconciliation_letter(dealers["hamburg"])
    client = as_user(auditor)

    for url in [*READ_PAGES, f"/print-room/letters/{answer.pk}/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert 'method="post"' not in response.content.decode().split("</header>", 1)[1], url
    assert client.get(f"/print-room/letters/{ready.pk}/pdf").status_code == 200

    posts = [
        ("/print-room/mark-posted/", {"posted_on": str(TODAY), "letter": [str(ready.pk)]}),
        (f"/print-room/letters/{ready.pk}/posting/", {"posted_on": str(TODAY)}),
        (f"/print-room/letters/{posted.pk}/receipt/", {"received_on": str(TODAY)}),
        (f"/print-room/letters/{ready.pk}/email/", {"to": "x@example.com"}),
        (f"/print-room/letters/{answer.pk}/reply/", {"answer": "confirmed", "replied_on": TODAY}),
        ("/print-room/reconciliation/new/", {"dealer": "B1", "as_of": str(TODAY)}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert list(Letter.objects.order_by("pk").values_list("status", "receipt_on", "reply")) == [
        (Letter.Status.READY, None, ""),
        (Letter.Status.POSTED, None, ""),
        (Letter.Status.READY, None, ""),
    ]
    assert mail.outbox == []


def test_a_collector_sees_only_the_letters_of_their_dealers_and_reads_only(
    collector: Any, other_collector: Any, dealers: dict[str, Dealer]
) -> None:
    mine = letter_for(dealers["berlin"])
    my_reconciliation = reconciliation_letter(dealers["vienna"])
    theirs_dealer = DealerFactory(code="T1", name="Their Farm", collector=other_collector)
    theirs = letter_for(theirs_dealer)
    their_reconciliation = reconciliation_letter(theirs_dealer)
    client = as_user(collector)

    listed = client.get("/print-room/")
    reconciliations = client.get("/print-room/reconciliation/")

    assert row_ids(listed) == [mine.pk]
    assert "Their Farm" not in listed.content.decode()
    assert "mark-posted" not in listed.content.decode()
    assert [letter.pk for letter in reconciliations.context["letters"]] == [my_reconciliation.pk]
    for url in (
        f"/print-room/letters/{theirs.pk}/",
        f"/print-room/letters/{theirs.pk}/pdf",
        f"/print-room/letters/{their_reconciliation.pk}/",
    ):
        assert client.get(url).status_code == 404
    print_run = client.get("/print-room/print-run.pdf")
    assert print_run["X-Letters"] == "1"  # their letter is not in my print run
    assert post_letters(client, {mine.pk: "RR1"}).status_code == 403
    mine.refresh_from_db()
    assert mine.status == Letter.Status.READY


def test_a_collector_with_the_permission_may_post_only_their_dealers_letters(
    collector: Any, other_collector: Any, dealers: dict[str, Dealer]
) -> None:
    collector.user_permissions.add(*_perms("change_letter"))
    mine = letter_for(dealers["berlin"])
    theirs = letter_for(DealerFactory(code="T1", collector=other_collector))
    client = as_user(collector)

    forged = post_letters(client, {mine.pk: "", theirs.pk: ""})
    assert forged.status_code == 400
    assert "There is no such letter." in forged.content.decode()
    assert (
        client.post(f"/print-room/letters/{theirs.pk}/posting/", {"posted_on": TODAY}).status_code
        == 404
    )
    assert set(Letter.objects.values_list("status", flat=True)) == {Letter.Status.READY}

    assert post_letters(client, {mine.pk: "RR1"}).status_code == 302
    mine.refresh_from_db()
    assert mine.status == Letter.Status.POSTED


def test_an_agency_sees_the_letters_of_the_dealers_placed_with_it(
    agency_user: Any, dealers: dict[str, Dealer]
) -> None:
    agency = Agency.objects.get(users=agency_user)
    placed = DealerFactory(code="PL1", agency=agency)
    placed_letter = letter_for(placed, kind=Letter.Kind.PLACEMENT)
    letter_for(dealers["berlin"])
    client = as_user(agency_user)

    assert row_ids(client.get("/print-room/")) == [placed_letter.pk]
    assert client.get(f"/print-room/letters/{placed_letter.pk}/").status_code == 200
    assert client.post(f"/print-room/letters/{placed_letter.pk}/posting/", {}).status_code == 403


def test_a_manager_may_do_what_finance_does(manager: Any, dealers: dict[str, Dealer]) -> None:
    letter = letter_for(dealers["berlin"])

    response = as_user(manager).post(
        f"/print-room/letters/{letter.pk}/posting/",
        {"posted_on": str(TODAY), "tracking_number": "RR55"},
    )

    assert response.status_code == 302
    letter.refresh_from_db()
    assert (letter.status, letter.tracking_number) == (Letter.Status.POSTED, "RR55")


# Queries: constant in the number of rows


def grow_print_room(to: int, collector: Any) -> None:
    """The query-count book, and for each new dealer an e-mail contact, a ready letter,
    a posted one and a reconciliation letter (every other one answered)."""
    before = set(Dealer.objects.values_list("pk", flat=True))
    grow_book(to, collector=collector, requester=collector)
    new = list(Dealer.objects.exclude(pk__in=before).order_by("pk"))
    Contact.objects.bulk_create(
        [Contact(dealer=d, name="Books", role=Contact.Role.CONTROLLER, email="b@x.io") for d in new]
    )
    rows = []
    for n, dealer in enumerate(new):
        rows += [
            Letter(
                dealer=dealer,
                kind=Letter.Kind.REMINDER,
                level=2,
                issued_on=TODAY,
                status=Letter.Status.READY,
                sha256="1" * 64,
            ),
            Letter(
                dealer=dealer,
                kind=Letter.Kind.FINAL_DEMAND,
                level=3,
                issued_on=TODAY,
                status=Letter.Status.POSTED,
                posted_on=TODAY,
                tracking_number=f"RR{n}",
            ),
            Letter(
                dealer=dealer,
                kind=Letter.Kind.RECONCILIATION,
                issued_on=TODAY,
                as_of=TODAY,
                reply_by=TODAY + dt.timedelta(days=(n % 3) * 20 - 10),
                reply="confirmed" if n % 2 else "",
                replied_on=TODAY if n % 2 else None,
                status=Letter.Status.READY,
                sha256="2" * 64,
            ),
        ]
    Letter.objects.bulk_create(rows)


PRINT_ROOM_PAGES = [
    "/print-room/",
    "/print-room/?page=2",
    "/print-room/?status=ready&kind=reminder",
    f"/print-room/?day={TODAY}&status=posted",
    "/print-room/reconciliation/",
    "/print-room/reconciliation/?page=2",
    "/print-room/reconciliation/?state=replied",
    "/print-room/reconciliation/?state=late",
]


def queries_of(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.mark.parametrize("role", ["finance", "collector"])
def test_the_print_room_costs_the_same_queries_for_10_and_200_dealers(
    role: str, collector: Any, request: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    client = as_user(request.getfixturevalue(role))

    grow_print_room(10, collector)
    small = {url: queries_of(client, url) for url in PRINT_ROOM_PAGES}
    grow_print_room(200, collector)
    large = {url: queries_of(client, url) for url in PRINT_ROOM_PAGES}

    assert Letter.objects.filter(issued_on=TODAY).count() == 800
    assert large == small


def test_the_grown_book_fills_the_pages(finance: Any, collector: Any) -> None:
    grow_print_room(60, collector)

    page = as_user(finance).get("/print-room/")

    assert len(page.context["rows"]) == 50
    assert page.context["day_total"] == 240

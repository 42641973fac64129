"""The escalation evidence pack: one PDF with everything the deciding manager needs (the
statement of account, letters, contacts, promises, plans, danger signs and evidence
files), for whoever sees the escalation on the queue, built in a constant number of
queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import io
import os
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from dunning import evidence_pack
from dunning.models import (
    ContactLog,
    DealerEvent,
    Escalation,
    InstallmentPlan,
    Letter,
    Promise,
    Stage,
)
from dunning.services import attach_evidence, reject_escalation, request_escalation
from receivables.allocation import reallocate_dealers
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db

# Where the sample pack of `test_the_pack_holds_the_evidence` is written, to look at.
# Set to a path to keep the rendered sample for a look (pdftoppm -png).
SAMPLE = os.environ.get("EVIDENCE_PACK_SAMPLE", "")


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def escalation_with_history(
    collector: Any, *, code: str = "EP1", rows: int = 3, name: str = "Green Valley Feeds"
) -> Escalation:
    """A dealer in soft collection with `rows` letters, contacts and promises, two open
    orders (one partly paid: 4,800.00 open of 5,200.00), a reconciliation reply, an
    installment plan, a danger sign and an evidence file, and the collector's request
    to move it to hard collection with that file."""
    dealer = overdue_dealer(code=code, name=name, days=70, amount="4200.00", collector=collector)
    OrderFactory(
        dealer=dealer,
        number=f"{code}-0002",
        ordered_on=TODAY - dt.timedelta(days=40),
        due_on=TODAY - dt.timedelta(days=10),
        amount=Decimal("1000.00"),
    )
    PaymentFactory(dealer=dealer, received_on=TODAY - dt.timedelta(days=5), amount=Decimal("400"))
    reallocate_dealers([dealer.pk])
    account_in(dealer, Stage.SOFT)

    for i in range(rows):
        Letter.objects.create(
            dealer=dealer,
            kind=Letter.Kind.REMINDER,
            level=i + 1,
            issued_on=TODAY - dt.timedelta(days=40 - i),
            cycle_started_on=TODAY - dt.timedelta(days=70),
            amount=Decimal("4200.00"),
            status=Letter.Status.POSTED,
            posted_on=TODAY - dt.timedelta(days=39 - i),
            tracking_number=f"RR{i:07d}{code}",
            receipt_on=TODAY - dt.timedelta(days=36 - i),
        )
        ContactLog.objects.create(
            dealer=dealer,
            channel=ContactLog.Channel.PHONE,
            at=NOW - dt.timedelta(days=20 - i),
            outcome=ContactLog.Outcome.PROMISE,
            note=f"Owner says the harvest money comes soon, call {i}",
            logged_by=collector,
        )
        Promise.objects.create(
            dealer=dealer,
            amount=Decimal("500.00"),
            requested_due_on=TODAY - dt.timedelta(days=15 - i),
            due_on=TODAY - dt.timedelta(days=15 - i),
            made_on=TODAY - dt.timedelta(days=20 - i),
            made_by=collector,
            status=Promise.Status.BROKEN,
            checked_on=TODAY - dt.timedelta(days=14 - i),
        )
    Letter.objects.create(
        dealer=dealer,
        kind=Letter.Kind.RECONCILIATION,
        issued_on=TODAY - dt.timedelta(days=30),
        as_of=TODAY - dt.timedelta(days=31),
        status=Letter.Status.POSTED,
        reply=Letter.Reply.DISPUTED,
        replied_on=TODAY - dt.timedelta(days=25),
        disputed_balance=Decimal("3900.00"),
        reply_note="Order 2 was delivered short",
    )
    plan = InstallmentPlan.objects.create(
        dealer=dealer, made_on=TODAY - dt.timedelta(days=3), made_by=collector, note="Two halves"
    )
    for weeks in (1, 2):
        Promise.objects.create(
            dealer=dealer,
            plan=plan,
            amount=Decimal("2400.00"),
            requested_due_on=TODAY + dt.timedelta(weeks=weeks),
            due_on=TODAY + dt.timedelta(weeks=weeks),
            made_on=TODAY - dt.timedelta(days=3),
            made_by=collector,
        )
    DealerEvent.objects.create(
        dealer=dealer,
        kind=DealerEvent.Kind.CLOSURE,
        occurred_on=TODAY - dt.timedelta(days=2),
        note="Shop shut, sign on the door",
        reported_by=collector,
    )
    photo = attach_evidence(
        dealer=dealer,
        file=ContentFile(b"a photo of the barn", name="barn-stock.jpg"),
        description="Barn stock moving out",
        by=collector,
    )
    return request_escalation(
        dealer=dealer,
        to_stage="hard",
        reason="Three broken promises; the shop has closed.",
        by=collector,
        today=TODAY,
        evidence=[photo],
    )


def download(user: Any, escalation: Escalation) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(f"/escalations/{escalation.pk}/evidence-pack.pdf")


def test_the_pack_holds_the_evidence(collector: Any, manager: Any) -> None:
    escalation = escalation_with_history(collector)

    response = download(manager, escalation)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="evidence-pack-EP1-escalation-{escalation.pk}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    if SAMPLE:
        with open(SAMPLE, "wb") as sample:
            sample.write(response.content)
    text = text_of(response.content)
    assert "Green Valley Feeds" in text
    assert "EP1" in text
    assert "Total open (EUR) 4,800.00" in text
    assert "RR0000002EP1" in text  # a letter's tracked-mail number
    assert "harvest money comes soon, call 1" in text  # a contact-log note
    assert "Broken" in text  # a promise's outcome
    assert "3 kept" not in text and "0 kept, 3 broken or partly kept, of 5." in text
    assert "barn-stock.jpg" in text  # the evidence file's name
    assert "Barn stock moving out" in text
    assert "Three broken promises; the shop has closed." in text
    assert "Closure" in text and "Shop shut" in text  # the danger sign
    assert "Order 2 was delivered short" in text  # the reconciliation reply
    assert "Prepared for mona (manager)" in text
    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    assert f"Page 1 of {pages}" in text


def test_the_paper_follows_the_letter_setting(collector: Any, manager: Any, settings: Any) -> None:
    escalation = escalation_with_history(collector, rows=1)
    settings.LETTER_PAPER = "letter"

    first = PdfReader(io.BytesIO(download(manager, escalation).content)).pages[0]

    assert (round(float(first.mediabox.width)), round(float(first.mediabox.height))) == (612, 792)


def test_managers_auditors_and_the_requester_may_download_others_get_404(
    collector: Any, other_collector: Any, manager: Any, auditor: Any
) -> None:
    escalation = escalation_with_history(collector, rows=1)

    assert download(manager, escalation).status_code == 200
    assert download(auditor, escalation).status_code == 200
    assert download(collector, escalation).status_code == 200
    assert download(other_collector, escalation).status_code == 404
    anonymous = Client().get(f"/escalations/{escalation.pk}/evidence-pack.pdf")
    assert anonymous.status_code == 302
    assert download(manager, Escalation(pk=escalation.pk + 1000)).status_code == 404


def test_the_queue_links_pending_and_decided_escalations_to_their_pack(
    collector: Any, manager: Any
) -> None:
    pending = escalation_with_history(collector, code="PEND", rows=1)
    decided = escalation_with_history(collector, code="DONE", rows=1)
    reject_escalation(escalation_id=decided.pk, by=manager, note="Not yet", today=TODAY, now=NOW)
    client = Client()
    client.force_login(manager)

    pending_page = client.get("/escalations/").content.decode()
    decided_page = client.get("/escalations/?status=rejected").content.decode()

    assert f'href="/escalations/{pending.pk}/evidence-pack.pdf"' in pending_page
    assert "Evidence pack (PDF)" in pending_page
    assert f'href="/escalations/{decided.pk}/evidence-pack.pdf"' in decided_page
    assert download(manager, decided).status_code == 200


def test_the_pack_costs_the_same_queries_for_few_and_many_rows(
    collector: Any, manager: Any
) -> None:
    few = escalation_with_history(collector, code="FEW", rows=1)
    many = escalation_with_history(collector, code="MANY", rows=8)
    counts = []
    for escalation in (few, many):
        client = Client()
        client.force_login(manager)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/escalations/{escalation.pk}/evidence-pack.pdf").status_code == 200
        counts.append(len(captured))

    # The session, the user and their role; then one query per kind of row (8).
    assert counts[0] == counts[1] <= 11


def test_the_page_counter_follows_the_translations_word_order() -> None:
    chinese = "第 %(page)s 页\uff0c共 %(pages)s 页"
    with mock.patch.object(evidence_pack, "gettext", lambda text: chinese):
        assert evidence_pack.page_counter_css() == (
            '"第 " counter(page) " 页\uff0c共 " counter(pages) " 页"'
        )


def test_css_strings_cannot_break_out_of_the_style_element() -> None:
    assert evidence_pack.css_string('Hof "Nord" </style>\\') == (
        '"Hof \\22 Nord\\22  \\3c /style\\3e \\5c "'
    )

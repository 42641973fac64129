"""Letters rendered to PDF once, stored with their sha256 and downloaded byte for byte
(docs/API.md "Letters"); rendering runs in a Celery task after the sweep's commit and a
failure is retried, then shown as failed without touching the rest of the sweep."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from pypdf import PdfReader

from dunning import printing
from dunning.models import Letter
from dunning.sweep.runner import run_sweep
from dunning.tasks import render_letter, render_letters
from receivables.models import ApiToken
from tests.collection_helpers import TODAY, overdue_dealer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def letter_for(dealer: Any, kind: str = Letter.Kind.REMINDER, level: int = 1, **fields: Any):
    return Letter.objects.create(
        dealer=dealer,
        kind=kind,
        level=level,
        issued_on=TODAY,
        cycle_started_on=TODAY,
        amount=Decimal("1234.50"),
        **fields,
    )


def api_as(user: Any) -> Client:
    _token, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def test_a_reminder_names_the_dealer_the_items_and_the_total(collector: Any) -> None:
    dealer = overdue_dealer(code="R1", name="Hof Meyer Futtermittel", days=20, collector=collector)
    letter = letter_for(dealer)

    stored = printing.store_pdf(letter.pk)

    assert stored.status == Letter.Status.READY
    text = text_of(stored.pdf.read())
    assert "Hof Meyer Futtermittel" in text
    assert "Payment reminder" in text
    assert "R1" in text
    assert "Page 1 of 1" in text
    order = dealer.orders.get()
    assert order.number in text
    assert f"{order.amount:,.2f}" in text


def test_a_final_demand_names_its_deadline_and_interest_rate(collector: Any) -> None:
    dealer = overdue_dealer(code="R2", days=70, collector=collector)
    letter = letter_for(
        dealer,
        kind=Letter.Kind.FINAL_DEMAND,
        level=3,
        deadline=dt.date(2026, 3, 16),
        interest_rate_percent=Decimal("9.00"),
    )

    text = text_of(printing.store_pdf(letter.pk).pdf.read())

    assert "Final demand" in text
    assert "16 March 2026" in text
    assert "9.00% a year" in text


def test_a_letter_is_rendered_once_and_downloaded_byte_for_byte(collector: Any) -> None:
    dealer = overdue_dealer(code="R3", days=20, collector=collector)
    letter = letter_for(dealer)
    stored = printing.store_pdf(letter.pk)

    with mock.patch.object(printing, "render_pdf") as render:
        again = printing.store_pdf(letter.pk)
    render.assert_not_called()
    assert again.sha256 == stored.sha256

    client = api_as(collector)
    downloads = [client.get(f"/api/v1/letters/{letter.pk}/pdf") for _ in range(2)]
    bodies = [b"".join(response.streaming_content) for response in downloads]
    assert {response.status_code for response in downloads} == {200}
    assert downloads[0]["Content-Type"] == "application/pdf"
    assert bodies[0] == bodies[1]
    assert hashlib.sha256(bodies[0]).hexdigest() == stored.sha256


def test_the_list_shows_only_the_letters_of_the_users_dealers(
    collector: Any, other_collector: Any, manager: Any
) -> None:
    mine = letter_for(overdue_dealer(code="MINE", days=20, collector=collector))
    theirs = letter_for(overdue_dealer(code="THEIRS", days=20, collector=other_collector))
    printing.store_pdf(mine.pk)

    answer = api_as(collector).get("/api/v1/letters").json()
    everyone = api_as(manager).get("/api/v1/letters?kind=reminder").json()

    assert [row["dealer"] for row in answer] == ["MINE"]
    assert answer[0]["status"] == "ready"
    assert answer[0]["pdf_url"] == f"/api/v1/letters/{mine.pk}/pdf"
    assert answer[0]["sha256"] == Letter.objects.get(pk=mine.pk).sha256
    assert {row["dealer"] for row in everyone} == {"MINE", "THEIRS"}
    not_rendered = next(row for row in everyone if row["dealer"] == "THEIRS")
    assert (not_rendered["status"], not_rendered["pdf_url"]) == ("rendering", None)
    client = api_as(collector)
    assert client.get(f"/api/v1/letters/{theirs.pk}/pdf").status_code == 404
    assert client.get("/api/v1/letters?status=posted").json() == []


def test_a_letter_not_rendered_yet_has_no_pdf_to_download(manager: Any) -> None:
    letter = letter_for(overdue_dealer(code="R4", days=20))

    response = api_as(manager).get(f"/api/v1/letters/{letter.pk}/pdf")

    assert response.status_code == 404
    assert "not rendered yet" in response.content.decode()


def test_a_failing_render_is_retried_then_shown_as_failed(collector: Any) -> None:
    letter = letter_for(overdue_dealer(code="R5", days=20, collector=collector))

    with mock.patch.object(printing, "render_pdf", side_effect=RuntimeError("no fonts")) as render:
        result = render_letter.apply(args=[letter.pk])

    assert result.failed()
    assert render.call_count == 4  # the first try and three retries
    letter.refresh_from_db()
    assert letter.status == Letter.Status.FAILED
    assert "no fonts" in letter.failure
    assert not letter.sha256


def test_network_fetches_are_refused() -> None:
    with pytest.raises(printing.RefusedFetch):
        printing.local_only_fetcher().fetch("https://example.com/logo.png")
    with pytest.raises(printing.RefusedFetch):
        printing.local_only_fetcher().fetch("file:///etc/passwd")


def test_the_sweep_queues_each_new_letter_for_rendering_after_its_commit(
    collector: Any, django_capture_on_commit_callbacks: Any
) -> None:
    overdue_dealer(code="S1", days=20, collector=collector)
    overdue_dealer(code="S2", days=25, collector=collector)

    with mock.patch.object(render_letters, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            run_sweep(today=TODAY)
        with django_capture_on_commit_callbacks(execute=True):
            run_sweep(today=TODAY)  # the same morning again: no letter twice

    issued = list(Letter.objects.order_by("pk").values_list("pk", flat=True))
    assert len(issued) == 2
    queued = [letter_id for call in delay.call_args_list for letter_id in call.args[0]]
    assert sorted(queued) == issued


def test_the_print_run_holds_the_days_ready_letters_in_postal_order(
    collector: Any, finance: Any
) -> None:
    made = {}
    for code, country, postal_code, name in [
        ("P1", "DE", "80331", "Zeller Agrar"),
        ("P2", "AT", "4020", "Aigner Futter"),
        ("P3", "DE", "26121", "Brunner Hof"),
    ]:
        dealer = overdue_dealer(
            code=code, country=country, postal_code=postal_code, name=name, collector=collector
        )
        made[code] = printing.store_pdf(letter_for(dealer).pk)
    posted = letter_for(overdue_dealer(code="P4", collector=collector), level=2)
    printing.store_pdf(posted.pk)
    letter_for(overdue_dealer(code="P5", collector=collector))  # still rendering
    client = api_as(finance)
    assert (
        client.post(
            f"/api/v1/letters/{posted.pk}/posting",
            {"posted_on": str(TODAY)},
            content_type="application/json",
        ).status_code
        == 200
    )

    response = client.get(f"/api/v1/letters/print-run.pdf?issued_on={TODAY}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Letters"] == "3"
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]
    firsts = [next(code for code in made if code in text) for text in pages]
    assert firsts == ["P2", "P3", "P1"]  # AT 4020, DE 26121, DE 80331
    assert "26121" in pages[1]
    empty = client.get("/api/v1/letters/print-run.pdf?issued_on=2026-01-01")
    assert empty.status_code == 404


def test_posting_and_the_return_receipt_are_recorded(finance: Any, collector: Any) -> None:
    letter = printing.store_pdf(letter_for(overdue_dealer(code="Q1", collector=collector)).pk)
    client = api_as(finance)

    early = client.post(
        f"/api/v1/letters/{letter.pk}/receipt",
        {"received_on": str(TODAY)},
        content_type="application/json",
    )
    posted = client.post(
        f"/api/v1/letters/{letter.pk}/posting",
        {"posted_on": str(TODAY), "tracking_number": "RR123456789DE"},
        content_type="application/json",
    )
    backwards = client.post(
        f"/api/v1/letters/{letter.pk}/receipt",
        {"received_on": str(TODAY - dt.timedelta(days=1))},
        content_type="application/json",
    )
    received = client.post(
        f"/api/v1/letters/{letter.pk}/receipt",
        {"received_on": str(TODAY + dt.timedelta(days=3))},
        content_type="application/json",
    )

    assert early.status_code == 409
    assert backwards.status_code == 400
    assert (posted.status_code, received.status_code) == (200, 200)
    answer = received.json()
    assert answer["status"] == "posted"
    assert answer["posted_on"] == str(TODAY)
    assert answer["tracking_number"] == "RR123456789DE"
    assert answer["receipt_on"] == str(TODAY + dt.timedelta(days=3))
    history = Letter.history.filter(id=letter.pk).order_by("history_id")
    assert [h.history_change_reason for h in history][-2:] == ["posted", "return receipt"]


def test_a_letter_still_rendering_cannot_be_posted_and_a_collector_cannot_post(
    finance: Any, collector: Any
) -> None:
    letter = letter_for(overdue_dealer(code="Q2", collector=collector))
    body = {"posted_on": str(TODAY)}

    refused = api_as(finance).post(
        f"/api/v1/letters/{letter.pk}/posting", body, content_type="application/json"
    )
    forbidden = api_as(collector).post(
        f"/api/v1/letters/{letter.pk}/posting", body, content_type="application/json"
    )

    assert refused.status_code == 409
    assert "rendering" in refused.content.decode()
    assert forbidden.status_code == 403
    assert Letter.objects.get(pk=letter.pk).posted_on is None


def test_the_dealers_postal_code_and_city_are_kept_and_printed(manager: Any) -> None:
    client = api_as(manager)
    response = client.put(
        "/api/v1/dealers/PC1",
        {
            "name": "Hof Lange",
            "country": "DE",
            "currency": "EUR",
            "address": "Dorfstraße 4",
            "postal_code": "26121",
            "city": "Oldenburg",
        },
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["postal_code"], response.json()["city"]) == ("26121", "Oldenburg")
    dealer = overdue_dealer(code="PC2", postal_code="26121", city="Oldenburg", address="Weg 1")

    text = text_of(printing.store_pdf(letter_for(dealer).pk).pdf.read())

    assert "26121 Oldenburg" in text
    assert "Weg 1" in text


def test_the_importer_reads_postal_code_and_city(tmp_path: Any, collector: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    from receivables.models import Dealer

    dealers = tmp_path / "dealers.csv"
    dealers.write_text(
        "code,name,country,currency,address,postal_code,city\n"
        "IM1,Hof Lange,DE,EUR,Dorfstraße 4,26121,Oldenburg\n",
        encoding="utf-8",
    )
    call_command("import_ledger", "--dealers", str(dealers), stdout=StringIO(), stderr=StringIO())

    dealer = Dealer.objects.get(code="IM1")
    assert (dealer.postal_code, dealer.city) == ("26121", "Oldenburg")

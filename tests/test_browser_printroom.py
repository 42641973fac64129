"""The print room in Chromium, on a laptop and on a tablet: finance opens it from the
navigation, downloads the day's print run, ticks two letters, types a tracking number,
marks them posted, records a return receipt, and records a disputed reply to a
reconciliation letter with a scan of the signed slip."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from dunning import printing
from dunning.models import Letter
from dunning.services import business_today
from dunning.services.reconciliation import issue_reconciliation_letter
from dunning.tasks import render_letters
from receivables.models import Order
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def rendered(dealer: Any, kind: str, level: int, today: dt.date) -> Letter:
    letter = Letter.objects.create(
        dealer=dealer,
        kind=kind,
        level=level,
        issued_on=today,
        cycle_started_on=today,
        amount=Decimal("1000.00"),
        deadline=today + dt.timedelta(days=14),
        interest_rate_percent=Decimal("9.00") if kind == Letter.Kind.FINAL_DEMAND else None,
    )
    return printing.store_pdf(letter.pk)


def fits_the_window(page: Page) -> bool:
    """Nothing makes the page scroll sideways: wide tables scroll inside their box."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_finance_runs_the_print_room(
    page: Page, live_server: Any, monkeypatch: Any, tmp_path: Path, viewport: dict[str, int]
) -> None:
    monkeypatch.setattr(render_letters, "delay_on_commit", lambda letter_ids: None)
    today = business_today()
    fiona = UserFactory(role="finance", username="fiona")
    carl = UserFactory(role="collector", username="carl")
    hof = overdue_dealer(
        code="FEED01", name="Hof Brandt", postal_code="10115", collector=carl, today=today
    )
    muehle = overdue_dealer(
        code="FEED02", name="Mühle Vogt", postal_code="20095", collector=carl, today=today
    )
    agrar = overdue_dealer(
        code="FEED03",
        name="Agrar Lindner",
        postal_code="80331",
        days=70,
        amount="2500.00",
        collector=carl,
        today=today,
    )
    first = rendered(hof, Letter.Kind.REMINDER, 1, today)
    second = rendered(muehle, Letter.Kind.REMINDER, 2, today)
    rendered(agrar, Letter.Kind.FINAL_DEMAND, 3, today)
    statement = issue_reconciliation_letter(dealer=agrar, as_of=today, today=today, by=fiona)
    printing.store_pdf(statement.pk)

    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "fiona")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Print room").click()

    rows = page.get_by_test_id("letter")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("Hof Brandt")
    expect(page.get_by_test_id("count-ready")).to_contain_text("4")
    assert fits_the_window(page)

    # The print run: one PDF of the four ready letters.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Print run (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"print-run-{today:%Y-%m-%d}.pdf"
    saved = tmp_path / "run.pdf"
    download.save_as(saved)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(saved.read_bytes())).pages)
    assert text.index("Hof Brandt") < text.index("Mühle Vogt") < text.index("Agrar Lindner")

    # Two letters into the post: a tracking number ticks its letter, the other by hand.
    page.get_by_label(f"Tracking number of letter #{first.pk}").fill("RR123456785DE")
    expect(page.get_by_label(f"Select letter #{first.pk} to Hof Brandt")).to_be_checked()
    page.get_by_label(f"Select letter #{second.pk} to Mühle Vogt").check()
    page.get_by_role("button", name="Mark posted").click()

    expect(page.get_by_text("2 letters marked posted on")).to_be_visible()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.posted_on, first.tracking_number) == (
        Letter.Status.POSTED,
        today,
        "RR123456785DE",
    )
    assert (second.status, second.tracking_number) == (Letter.Status.POSTED, "")
    expect(page.get_by_test_id("count-posted")).to_contain_text("2")

    # The return receipt of the first comes back.
    row = page.locator(f'[data-testid="letter"][data-id="{first.pk}"]')
    row.get_by_label(f"Receipt of letter #{first.pk} signed on").fill(f"{today:%Y-%m-%d}")
    row.get_by_role("button", name="Record receipt").click()
    expect(page.locator(f'[data-testid="letter"][data-id="{first.pk}"]')).to_contain_text(
        "Receipt signed"
    )
    first.refresh_from_db()
    assert first.receipt_on == today
    assert fits_the_window(page)

    # The reconciliation letter comes back disputed, with the signed slip.
    page.get_by_role("navigation", name="Print room").get_by_role(
        "link", name="Reconciliation"
    ).click()
    statement_row = page.get_by_test_id("reconciliation")
    expect(statement_row).to_contain_text("Awaiting")
    statement_row.get_by_role("link", name=f"#{statement.pk}", exact=True).click()

    page.get_by_label("Disputed").check()
    page.get_by_label("Reply dated").fill(f"{today:%Y-%m-%d}")
    page.get_by_label("Balance the dealer states").fill("2,000.00")
    page.get_by_label("Note").fill("Credit note for the damaged delivery is missing.")
    page.get_by_label("Scan of the signed reply slip").set_input_files(
        files=[{"name": "slip.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 slip"}]
    )
    page.get_by_role("button", name="Record the reply").click()

    reply = page.get_by_test_id("reply")
    expect(reply).to_contain_text("Disputed")
    expect(reply).to_contain_text("2,000.00")
    expect(reply).to_contain_text("Entered by finance")
    expect(reply.get_by_role("link", name="Signed reply slip")).to_be_visible()
    assert fits_the_window(page)
    statement.refresh_from_db()
    assert statement.reply == Letter.Reply.DISPUTED
    assert statement.disputed_balance == Decimal("2000.00")
    assert statement.reply_scan.read() == b"%PDF-1.4 slip"
    assert Order.objects.get(dealer=agrar).disputed_amount == Decimal("500.00")


def test_the_navigation_with_the_print_room_fits_a_tablet(page: Page, live_server: Any) -> None:
    """Finance's menu leads to the print room and marks it; a manager has the most
    sections: on a tablet the links share one row under the brand and nothing sticks out
    of the window."""
    UserFactory(role="finance", username="fiona")
    UserFactory(role="manager", username="mona")
    page.set_viewport_size(TABLET)
    log_in(page, live_server.url, "fiona")
    page.goto(live_server.url + "/print-room/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Print room")).to_have_attribute("aria-current", "page")
    for name in ["Finance desk", "Import", "Payments", "Print room", "Dealers"]:
        expect(nav.get_by_role("link", name=name)).to_be_in_viewport()
    assert fits_the_window(page)

    page.context.clear_cookies()
    log_in(page, live_server.url, "mona")
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Desk", "Approvals", "Worklist", "Dealers", "Tasks", "Alerts", "Team"]:
        expect(nav.get_by_role("link", name=name)).to_be_in_viewport()
    assert fits_the_window(page)

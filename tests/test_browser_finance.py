"""The finance desk in Chromium, on a laptop and on a tablet: finance uploads an orders file
with a bad row, reads the error with its line, uploads the fixed file, confirms the clean
check, watches the import's progress to the end, records a payment by hand after its
preview, and opens the print room from the desk.

The Celery tasks run in a thread of their own (the enqueue function is patched), a little
slowed down per batch, so that the progress the page polls is real.

With SCREENSHOTS=1 the pages are saved to docs/screenshots/import-<width>.png and
payment-<width>.png."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from playwright.sync_api import Page, expect

from receivables import tasks
from receivables.dates import business_today
from receivables.importing import jobs
from receivables.models import ImportJob, Order, Payment
from tests.factories import DealerFactory, UserFactory
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ROWS = 40
BAD_LINE = 7


def orders_file(*, bad: bool) -> bytes:
    """ROWS orders of 100.00 for FEED01; with `bad`, the row on line BAD_LINE names a
    dealer nobody knows."""
    lines = ["number,dealer,ordered_on,due_on,amount"]
    for n in range(1, ROWS + 1):
        dealer = "NOBODY" if bad and n + 1 == BAD_LINE else "FEED01"
        lines.append(f"N-{n:03d},{dealer},2025-01-{n % 28 + 1:02d},2025-03-01,100.00")
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def tasks_in_a_thread(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[None]:
    """Run each check and import in a thread once the upload or confirmation commits, five
    rows a batch and a quarter of a second per batch, as a worker would, only slower."""
    settings.IMPORT_BATCH_SIZE = 5
    threads: list[threading.Thread] = []
    write_progress = jobs._set_progress

    def slowly(job_id: int, done: int) -> None:
        write_progress(job_id, done)
        time.sleep(0.25)

    def run(step: str, job_id: int) -> None:
        task = tasks.check_import if step == "check" else tasks.run_import
        try:
            task(job_id)
        finally:
            connection.close()

    def enqueue(step: str, job_id: int) -> None:
        thread = threading.Thread(target=run, args=(step, job_id), daemon=True)
        threads.append(thread)
        transaction.on_commit(thread.start)

    monkeypatch.setattr(jobs, "_set_progress", slowly)
    monkeypatch.setattr(jobs, "enqueue", enqueue)
    yield
    for thread in threads:
        thread.join(timeout=30)


def screenshot(page: Page, name: str, viewport: dict[str, int]) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}-{viewport['width']}.png", full_page=True)


def back_to_the_desk(page: Page) -> None:
    breadcrumbs = page.get_by_role("navigation", name="Breadcrumb")
    breadcrumbs.get_by_role("link", name="Finance desk").click()


def upload_orders(page: Page, content: bytes) -> None:
    page.get_by_label("Orders", exact=True).set_input_files(
        files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": content}]
    )
    page.get_by_role("button", name="Upload and check").click()


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_finance_imports_orders_and_records_a_payment(
    page: Page, live_server: Any, tasks_in_a_thread: None, viewport: dict[str, int]
) -> None:
    today = business_today()
    UserFactory(role="finance", username="fiona")
    DealerFactory(code="FEED01", name="Hof Brandt", currency="EUR")
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "fiona")

    # The desk: nothing imported yet.
    page.goto(live_server.url + "/finance/")
    expect(page.get_by_role("heading", name="Finance desk")).to_be_visible()
    expect(page.get_by_test_id("desk-import")).to_contain_text("No import has been started")
    assert fits_the_window(page)
    page.get_by_role("link", name="Start an import").click()

    # 1. An orders file with a bad row: the check lists it, with its line, and writes nothing.
    upload_orders(page, orders_file(bad=True))
    expect(page.get_by_test_id("progress")).to_contain_text(f"of {ROWS} rows")
    expect(page.get_by_test_id("job-status")).to_have_text("Check found errors", timeout=20_000)
    error = page.get_by_test_id("import-error")
    expect(error).to_have_count(1)
    expect(error).to_contain_text("orders.csv")
    expect(error.locator("td").nth(1)).to_have_text(str(BAD_LINE))
    expect(error).to_contain_text("dealer")
    expect(error).to_contain_text("unknown dealer 'NOBODY'")
    expect(page.get_by_role("heading", name="1 problem")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm import")).to_have_count(0)
    assert not Order.objects.exists()
    assert fits_the_window(page)
    screenshot(page, "import", viewport)

    # 2. The fixed file: a clean check says what would change.
    page.get_by_role("link", name="Upload the fixed files").click()
    upload_orders(page, orders_file(bad=False))
    expect(page.get_by_test_id("job-status")).to_have_text(
        "Checked, awaiting confirmation", timeout=20_000
    )
    counts = page.get_by_test_id("import-counts")
    expect(counts).to_contain_text("orders.csv")
    expect(counts.locator("tbody td").nth(1)).to_have_text(str(ROWS))  # new
    assert not Order.objects.exists()
    assert fits_the_window(page)

    # 3. Confirmed: the rows done climb while it imports, then what changed.
    page.get_by_role("button", name="Confirm import").click()
    expect(page.get_by_test_id("job-status")).to_have_text("Importing")
    progress = page.get_by_test_id("progress")
    expect(progress).to_have_text(re.compile(rf"^([1-9]|[1-3]\d) of {ROWS} rows$"), timeout=10_000)
    expect(page.get_by_test_id("job-status")).to_have_text("Imported", timeout=20_000)
    expect(page.get_by_test_id("import-done")).to_contain_text("confirmed by fiona")
    expect(page.get_by_test_id("reallocated")).to_contain_text("Payments re-allocated")
    assert Order.objects.filter(dealer__code="FEED01").count() == ROWS
    job = ImportJob.objects.latest("created_at")
    assert job.status == ImportJob.Status.DONE
    assert fits_the_window(page)

    # 4. A payment by hand: the preview first, then saved.
    back_to_the_desk(page)
    expect(page.get_by_test_id("desk-import")).to_contain_text("Imported")
    page.get_by_role("link", name="Record a payment").click()
    page.get_by_label("Dealer code").fill("FEED01")
    page.get_by_label("Reference").fill("CASH-2503")
    expect(page.get_by_label("Received on")).to_have_value(f"{today:%Y-%m-%d}")
    page.get_by_label("Amount").fill("250.00")
    page.get_by_label("Method").select_option(label="Cash")
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_test_id("payment-preview")
    rows = preview.get_by_test_id("preview-order")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Settled")
    expect(rows.nth(2)).to_contain_text("50.00")
    expect(page.get_by_test_id("preview-credit")).to_have_text("Nothing stays as dealer credit.")
    assert not Payment.objects.exists()
    assert fits_the_window(page)
    screenshot(page, "payment", viewport)

    page.get_by_role("button", name="Save payment").click()
    expect(page.get_by_text("Payment CASH-2503 of FEED01 recorded.")).to_be_visible()
    expect(page.get_by_test_id("allocation")).to_have_count(3)
    expect(page.get_by_test_id("payment-credit")).to_contain_text("0.00")
    payment = Payment.objects.get(reference="CASH-2503")
    assert payment.amount == Decimal("250.00")
    assert payment.method == "cash"
    assert fits_the_window(page)

    # 5. The print room, from the desk.
    back_to_the_desk(page)
    expect(page.get_by_test_id("desk-payments")).to_contain_text("CASH-2503")
    page.get_by_role("link", name="Open the print room").click()
    expect(page).to_have_url(re.compile(r"/print-room/$"))
    expect(page.get_by_role("heading", name="Print room", exact=True)).to_be_visible()

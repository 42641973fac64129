"""The auditor in Chromium, on a laptop and on a tablet: opens a dealer from the dealer
list, opens its change history, filters it to the orders, downloads the CSV (a dispute
reason typed like a formula comes out neutralised), and reads the alerts with no form to
act on them.

With SCREENSHOTS=1 the history is saved as docs/screenshots/auditor-history-1280.png and
-768.png."""

from __future__ import annotations

import csv
import io
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning.models import Alert, CollectionAccount, Stage
from dunning.services.common import stamp
from receivables.allocation import reallocate_dealers
from receivables.models import Contact
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, ContactFactory, PaymentFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def fits_the_window(page: Page) -> bool:
    """Nothing makes the page scroll sideways: wide tables scroll inside their box."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def posting_forms_in_main(page: Page) -> int:
    return page.locator("main form[method='post' i]").count()


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_auditor_reads_a_dealers_history(
    page: Page, live_server: Any, tmp_path: Path, viewport: dict[str, int]
) -> None:
    UserFactory(role="auditor", username="audrey")
    mona = UserFactory(role="manager", username="mona")
    hof = overdue_dealer(code="FEED01", name="Hof Brandt")
    contact = ContactFactory(dealer=hof, name="Anna Brandt", role=Contact.Role.OWNER)
    contact.role = Contact.Role.CONTROLLER
    stamp(contact, by=mona, reason="She keeps the books now")
    contact.save()
    order = hof.orders.get()
    order.disputed = True
    order.dispute_reason = "=SUM(A1:A9) bags short"
    stamp(order, by=mona, reason="Dealer called about the delivery")
    order.save()
    PaymentFactory(dealer=hof, amount=Decimal("200.00"))
    reallocate_dealers([hof.pk])
    account = CollectionAccount.objects.create(dealer=hof, stage=Stage.SOFT)
    account.default_cause = CollectionAccount.Cause.DISPUTE
    stamp(account, by=mona, reason="Disputed delivery")
    account.save()
    Alert.objects.create(dealer=hof, kind=Alert.Kind.DEALER_EVENT, message="Barn fire reported")

    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "audrey")

    # From the dealer list to the dealer, and on to its history.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dealers").click()
    page.get_by_role("link", name="FEED01", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hof Brandt")
    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("History of FEED01")

    entries = page.get_by_test_id("history-entry")
    expect(entries.first).to_be_visible()
    # Who, what in words (labels, not codes), and why.
    expect(page.locator("main")).to_contain_text("She keeps the books now")
    expect(page.locator("main")).to_contain_text("Financial controller")
    expect(page.locator("main")).to_contain_text("Dispute about the product")
    expect(page.locator("main")).not_to_contain_text("dispute_reason")
    assert posting_forms_in_main(page) == 0
    assert fits_the_window(page)
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"auditor-history-{viewport['width']}.png"), full_page=True
        )

    # Only the orders.
    page.get_by_label("Kind").select_option(label="Orders")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"kind=orders"))
    expect(entries.first).to_contain_text("Dealer called about the delivery")
    kinds = {entries.nth(i).get_attribute("data-kind") for i in range(entries.count())}
    assert kinds == {"orders"}
    expect(page.locator("main")).not_to_contain_text("She keeps the books now")
    assert fits_the_window(page)

    # The CSV of those changes, with the formula-like value neutralised.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == "FEED01-history.csv"
    saved = tmp_path / "history.csv"
    download.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["When", "Who", "Kind", "Object"]
    assert {row[2] for row in rows[1:]} == {"Orders"}
    dispute = next(row for row in rows if row[4] == "Dispute reason")
    assert dispute[1] == "mona"
    assert dispute[6] == "'=SUM(A1:A9) bags short"
    assert dispute[7] == "Dealer called about the delivery"

    # The alerts: read, each dealer linked to its collection page, nothing to act on.
    page.goto(live_server.url + "/alerts/")
    alert = page.get_by_test_id("alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Barn fire reported")
    expect(alert.get_by_role("link", name=re.compile("Hof Brandt"))).to_have_attribute(
        "href", "/dealers/FEED01/collection/"
    )
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    assert posting_forms_in_main(page) == 0
    assert fits_the_window(page)

"""The agency portal in Chromium, on a laptop and on a tablet: an agency user logs in,
lands on the accounts placed with its agency (and only those, with nothing internal on
the page), searches, opens a dealer, logs a contact, records a recovery (a second one
with the same reference is refused beside the field), and reads its commission. On the
way it records the promise the dealer made, which the contact then reports.

With SCREENSHOTS=1 the worklist is saved as docs/screenshots/agency-worklist-1280.png
and -768.png."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from config.navigation import LANDING
from dunning.models import ContactLog
from dunning.services import business_today
from receivables.models import Agency, Payment
from receivables.roles import Role
from tests.collection_helpers import overdue_dealer
from tests.factories import AgencyFactory, ContactFactory, UserFactory
from tests.test_agency import INTERNAL_WORDS, place
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def assert_nothing_internal(page: Page) -> None:
    text = page.locator("main").inner_text()
    for word in INTERNAL_WORDS:
        assert word not in text, word


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_agency_works_its_placed_accounts(
    page: Page, live_server: Any, monkeypatch: Any, viewport: dict[str, int]
) -> None:
    # The agency's landing page, as config/navigation.py is to say it.
    assert LANDING[Role.AGENCY] == "agency_worklist"
    today = business_today()
    UserFactory(role="agency", username="agnes")
    agency = Agency.objects.get(name="Northern Recovery Ltd")
    agency.commission_percent = Decimal("10.00")
    agency.save()
    carl = UserFactory(role="collector", username="carl")
    placed_on = today - dt.timedelta(days=30)
    hof = place(
        overdue_dealer(
            days=120,
            amount="4200.00",
            code="FEED01",
            name="Hof Brandt",
            city="Kiel",
            collector=carl,
            today=today,
        ),
        agency,
        on=placed_on,
    )
    place(
        overdue_dealer(
            days=75,
            amount="900.00",
            code="FEED02",
            name="Mühle Vogt",
            city="Husum",
            collector=carl,
            today=today,
        ),
        agency,
        on=placed_on,
    )
    place(
        overdue_dealer(days=75, code="FEED03", name="Südhof Agrar", today=today),
        AgencyFactory(name="Southern Recovery"),
        on=placed_on,
    )
    overdue_dealer(days=75, code="FEED04", name="Agrar Nord", collector=carl, today=today)
    ContactFactory(dealer=hof, name="Jens Brandt", phone="+49 431 555 0101")
    ContactLog.objects.create(
        dealer=hof,
        channel="phone",
        at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
        outcome="refused",
        logged_by=carl,
        note="Collector only: owner hostile",
    )
    page.set_viewport_size(viewport)

    log_in(page, live_server.url, "agnes")

    expect(page).to_have_url(re.compile(r"/agency/$"))
    expect(page.get_by_role("heading", name="Placed accounts", exact=True)).to_be_visible()
    rows = page.get_by_test_id("placed-dealer")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("FEED01")
    expect(rows.first).to_contain_text("4,200.00 EUR")
    expect(rows.nth(1)).to_contain_text("FEED02")
    expect(page.locator("main")).not_to_contain_text("FEED03")
    expect(page.locator("main")).not_to_contain_text("FEED04")
    assert_nothing_internal(page)
    assert fits_the_window(page)
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(
            path=str(SCREENSHOTS / f"agency-worklist-{viewport['width']}.png"), full_page=True
        )

    page.get_by_label("Search", exact=True).fill("Vogt")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Mühle Vogt")
    page.get_by_role("link", name="All placed accounts").click()
    expect(rows).to_have_count(2)

    page.get_by_role("link", name=re.compile("FEED01")).click()
    expect(page).to_have_url(re.compile(r"/agency/dealers/FEED01/$"))
    expect(page.get_by_role("heading", name=re.compile("Hof Brandt"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("Jens Brandt")
    expect(page.get_by_test_id("open-item")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Collector only")
    assert_nothing_internal(page)
    assert fits_the_window(page)

    promise = page.locator("#record-promise")
    promise.get_by_label("Amount").fill("1500.00")
    promise.get_by_label("Pay by").fill(f"{today + dt.timedelta(days=7):%Y-%m-%d}")
    promise.get_by_role("button", name="Record promise").click()
    expect(page.locator(".messages")).to_contain_text("Promise recorded: 1,500.00 EUR")
    expect(page.get_by_test_id("agency-promise")).to_have_count(1)

    contact = page.locator("#log-contact")
    contact.get_by_label("Channel").select_option(label="Visit")
    contact.get_by_label("Person").select_option(label="Jens Brandt (Business owner)")
    contact.get_by_label("Outcome").select_option(label="Promise to pay")
    contact.get_by_label("Note").fill("Met the owner at the farm gate")
    contact.get_by_role("button", name="Log contact").click()
    expect(page.locator(".messages")).to_contain_text("Contact recorded.")
    expect(page.get_by_test_id("agency-contact")).to_have_count(1)
    expect(page.get_by_test_id("agency-contact")).to_contain_text("Met the owner at the farm gate")

    recovery = page.locator("#recovery")
    recovery.get_by_label("Reference").fill("NRL-0042")
    recovery.get_by_label("Amount").fill("1200.00")
    recovery.get_by_role("button", name="Record recovery").click()
    expect(page.locator(".messages")).to_contain_text("Recovery NRL-0042 of 1,200.00 EUR recorded.")
    expect(page.get_by_test_id("agency-balance")).to_contain_text("3,000.00 EUR")
    assert Payment.objects.get(reference="NRL-0042").amount == Decimal("1200.00")

    recovery = page.locator("#recovery")
    recovery.get_by_label("Reference").fill("NRL-0042")
    recovery.get_by_label("Amount").fill("50.00")
    recovery.get_by_role("button", name="Record recovery").click()
    expect(recovery.locator(".field-error")).to_contain_text("already recorded")
    assert Payment.objects.count() == 1
    assert fits_the_window(page)

    page.get_by_role("link", name="Placed accounts").first.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Commission").click()
    expect(page).to_have_url(re.compile(r"/agency/commission/$"))
    expect(page.get_by_test_id("commission-total")).to_have_count(1)
    expect(page.get_by_test_id("commission-total")).to_contain_text("120.00 EUR")
    expect(page.get_by_test_id("commission-month")).to_have_count(1)
    expect(page.get_by_test_id("commission-month")).to_contain_text("1,200.00")
    assert_nothing_internal(page)
    assert fits_the_window(page)

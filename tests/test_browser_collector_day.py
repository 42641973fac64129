"""The collector's day in Chromium, on a laptop and on a tablet (issue 10, part C): from the
dashboard and from the dealer list the collector reaches the collection page; the
worklist says why today is a good day to call a dealer; a dealer in litigation is in
the other list, not the call list; a promise above the balance is refused with its
reason next to the field; a contact logged shows its message next to the form."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning.calendar import call_day, reorder_rhythm
from dunning.models import CollectionAccount, ContactLog, Promise, Stage
from dunning.services import business_today
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, DealerFactory, OrderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
REORDER_DAYS = 18
SHOTS = "/tmp/collector-day"


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def fits_the_window(page: Page) -> bool:
    """Nothing makes the page scroll sideways: wide tables scroll inside their box."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def carls_day(today: dt.date) -> dict[str, Any]:
    """Carl's book: FEED01 reorders every 18 days, its last delivery 14 days ago (so it
    has sold about 80% of it today); LAW01 is in litigation."""
    carl = UserFactory(role="collector", username="carl")
    feed = DealerFactory(code="FEED01", name="Green Valley Feeds", country="DE", collector=carl)
    order_days = [today - dt.timedelta(days=14 + REORDER_DAYS * n) for n in range(4)]
    for day in order_days:
        OrderFactory(
            dealer=feed, ordered_on=day, due_on=day + dt.timedelta(days=10), amount=Decimal(500)
        )
    lawyers = overdue_dealer(
        days=300, code="LAW01", name="Hof Richter", collector=carl, today=today
    )
    CollectionAccount.objects.create(dealer=lawyers, stage=Stage.LITIGATION, stage_since=today)
    return {"feed": feed, "order_days": order_days}


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_the_collectors_day(page: Page, live_server: Any, viewport: dict[str, int]) -> None:
    today = business_today()
    book = carls_day(today)
    base = live_server.url
    page.set_viewport_size(viewport)
    log_in(page, base, "carl")

    # From the dashboard's most overdue dealers to the collection page.
    page.goto(base + "/")
    page.get_by_role("link", name="Collection of FEED01").click()
    expect(page).to_have_url(re.compile(r"/dealers/FEED01/collection/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Green Valley Feeds")
    assert fits_the_window(page)

    # From the dealer list, likewise; and from the ledger page.
    page.goto(base + "/dealers/")
    page.get_by_role("link", name="Collection of FEED01").click()
    expect(page).to_have_url(re.compile(r"/dealers/FEED01/collection/$"))
    page.goto(base + "/dealers/FEED01/")
    page.get_by_test_id("to-collection").click()
    expect(page).to_have_url(re.compile(r"/dealers/FEED01/collection/$"))

    # The worklist: FEED01 with why today is a good day to call; no litigation dealer.
    page.goto(base + "/worklist/")
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(1)
    feed_row = rows.filter(has_text="Green Valley Feeds")
    expected = call_day("DE", today, reorder_rhythm(book["order_days"]))
    last = book["order_days"][0]
    sold = (
        f"Good day to call: likely sold 80% of the delivery of {last.day} {last:%b %Y} "
        f"(reorders every {REORDER_DAYS} days)"
    )
    if expected.rhythm is not None:  # today is a business day in Germany
        expect(feed_row.get_by_test_id("good-day")).to_contain_text(sold)
    else:
        expect(feed_row).not_to_contain_text("likely sold 80%")
    if expected.month_end:
        expect(feed_row.get_by_test_id("good-day")).to_contain_text("month-end")
    expect(page.get_by_text("Hof Richter")).to_have_count(0)
    assert fits_the_window(page)
    page.screenshot(path=f"{SHOTS}-worklist-{viewport['width']}.png", full_page=True)

    # The other list: the dealer with lawyers, its stage and since when.
    page.get_by_role("link", name="With lawyers, agencies or written off").click()
    expect(page).to_have_url(re.compile(r"list=out_of_calls"))
    other = page.get_by_test_id("out-of-calls-row")
    expect(other).to_have_count(1)
    expect(other).to_contain_text("Hof Richter")
    expect(other).to_contain_text("Litigation")
    expect(other).to_contain_text(f"{today.day} {today:%b %Y}")
    assert fits_the_window(page)
    page.screenshot(path=f"{SHOTS}-out-of-calls-{viewport['width']}.png", full_page=True)

    # A promise above the balance (2,000.00 open): refused, the reason by the field.
    page.goto(base + "/dealers/FEED01/collection/")
    promises = page.locator("#promises")
    promises.get_by_label("Amount", exact=True).fill("2500.00")
    promises.get_by_label("Pay by", exact=True).fill((today + dt.timedelta(days=7)).isoformat())
    promises.get_by_role("button", name="Record promise").click()
    error = page.locator("#id_promise-amount_error")
    expect(error).to_contain_text("more than the dealer owes (2,000.00 EUR open today)")
    expect(error).to_be_in_viewport()
    assert not Promise.objects.exists()
    assert fits_the_window(page)

    # A contact logged: its message next to the form, where the page now is.
    contacts = page.locator("#contacts")
    contacts.get_by_label("Outcome").select_option(label="Reached")
    contacts.get_by_role("button", name="Log contact").click()
    expect(page).to_have_url(re.compile(r"#contacts$"))
    message = contacts.get_by_test_id("panel-message")
    expect(message).to_contain_text("Contact recorded.")
    expect(message).to_be_in_viewport()
    assert ContactLog.objects.count() == 1
    # Not a second time at the top of the page.
    expect(page.locator("ul.messages")).to_have_count(0)
    assert fits_the_window(page)
    page.screenshot(path=f"{SHOTS}-contact-{viewport['width']}.png")

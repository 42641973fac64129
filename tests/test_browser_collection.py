"""A collector's morning in Chromium: the worklist, a dealer's collection panel, an excuse
answered, a weekend promise moved to the next business day, an escalation requested; then
a manager, in a browser context of their own, approves it and the account goes hard."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, Page, expect

from dunning import services
from dunning.calendar import next_business_day_on_or_after
from tests.factories import PASSWORD, ContactFactory, DealerFactory, OrderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}
SHOTS = "/tmp/collection"


@pytest.fixture
def desk(transactional_db, excuse_library):
    """Carl's portfolio: a dealer in soft collection and two lesser ones; a manager."""
    today = services.business_today()
    carl = UserFactory(role="collector", username="carl", first_name="Carl", last_name="Rossi")
    UserFactory(role="manager", username="mona", first_name="Mona", last_name="Berg")
    for code, name, days, amount in [
        ("FEED01", "Green Valley Feeds", 45, "12400.00"),
        ("FEED02", "Hof Lindner", 12, "800.00"),
        ("FEED03", "Agrar Schulte KG", 20, "2300.00"),
    ]:
        dealer = DealerFactory(code=code, name=name, collector=carl)
        due_on = today - dt.timedelta(days=days)
        OrderFactory(
            dealer=dealer,
            ordered_on=due_on - dt.timedelta(days=30),
            due_on=due_on,
            amount=Decimal(amount),
        )
    green = DealerFactory._meta.model.objects.get(code="FEED01")
    ContactFactory(dealer=green, name="Petra Owner")
    account = services.ensure_account(green)
    services.move_stage(account, "remind", on=today, by=None, reason="Past due")
    services.move_stage(account, "soften", on=today, by=None, reason="30 days past due")
    return green


def log_in(page: Page, base_url: str, path: str, username: str) -> None:
    page.goto(base_url + path)
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def next_saturday(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=(5 - today.weekday()) % 7 or 7)


def test_collector_works_a_dealer_and_manager_approves_escalation(
    page: Page, browser: Browser, live_server, desk
):
    base = live_server.url
    page.set_viewport_size(LAPTOP)
    log_in(page, base, "/worklist/", "carl")

    # The worklist: most urgent first, with the why.
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Green Valley Feeds")
    expect(rows.first).to_contain_text("Soft collection")
    rows.first.get_by_text("Why first?").click()
    expect(rows.first.get_by_role("row", name=re.compile("Amount overdue"))).to_be_visible()
    page.screenshot(path=f"{SHOTS}-worklist-laptop.png", full_page=True)

    page.get_by_role("link", name=re.compile("Green Valley Feeds")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Green Valley Feeds")
    expect(page.get_by_test_id("stage")).to_have_text("Soft collection")

    # An excuse picked: the counter-script appears without a page load.
    page.get_by_label("Excuse heard").select_option(label="When I have money")
    script = page.get_by_test_id("counter-script")
    expect(script).to_contain_text("That is not a date.")
    expect(script).to_contain_text("A concrete date and amount")
    page.screenshot(path=f"{SHOTS}-panel-laptop.png", full_page=True)

    # A promise for a Saturday falls due on the next business day.
    saturday = next_saturday(services.business_today())
    due = next_business_day_on_or_after("DE", saturday)
    promises = page.locator("#promises")
    promises.get_by_label("Amount", exact=True).fill("1500.00")
    promises.get_by_label("Pay by", exact=True).fill(saturday.isoformat())
    promises.get_by_role("button", name="Record promise").click()
    expect(page.locator(".message.success")).to_contain_text(
        f"by {due:%a}, {due.day} {due:%b %Y} (asked for Sat {saturday.day} {saturday:%b}"
    )
    table = page.get_by_test_id("promises")
    expect(table).to_contain_text(f"{due:%a} {due.day} {due:%b %Y}")
    expect(table).to_contain_text(f"asked Sat {saturday.day} {saturday:%b}, moved")

    # Bad input: the error sits next to the field, nothing is recorded.
    promises.get_by_label("Amount", exact=True).fill("0")
    promises.get_by_label("Pay by", exact=True).fill(saturday.isoformat())
    promises.get_by_role("button", name="Record promise").click()
    expect(page.locator("#id_promise-amount_error")).to_contain_text("greater than or equal")
    expect(page.get_by_test_id("promises").locator("tbody tr")).to_have_count(1)

    # The escalation request, with a photo of the stock.
    stage = page.locator("#stage")
    stage.get_by_label("Escalate to").select_option("hard")
    stage.get_by_label("Reason").fill("Second broken promise; stock is moving out.")
    stage.get_by_label("Evidence file").set_input_files(
        files=[{"name": "stock.jpg", "mimeType": "image/jpeg", "buffer": b"stock photo"}]
    )
    stage.get_by_label("Evidence description").fill("Barn stock, 12 March")
    stage.get_by_role("button", name="Request escalation").click()
    expect(page.locator(".message.success")).to_have_text(
        "Escalation to hard collection requested; a manager decides it."
    )
    expect(page.get_by_test_id("dealer-escalations")).to_contain_text("Pending")
    page.set_viewport_size(TABLET)
    page.screenshot(path=f"{SHOTS}-panel-tablet.png", full_page=True)

    # The collector cannot decide it: the queue shows it without buttons.
    page.goto(base + "/escalations/")
    expect(page.get_by_test_id("escalation")).to_have_count(1)
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    # The manager, in a separate browser context, approves it.
    context = browser.new_context(viewport=LAPTOP)
    try:
        manager_page = context.new_page()
        log_in(manager_page, base, "/escalations/", "mona")
        request = manager_page.get_by_test_id("escalation")
        expect(request).to_contain_text("Green Valley Feeds")
        expect(request).to_contain_text("requested")
        expect(request).to_contain_text("by carl")
        request.get_by_label("Note").fill("Approved: credit hold from today.")
        manager_page.screenshot(path=f"{SHOTS}-escalations-laptop.png", full_page=True)
        request.get_by_role("button", name="Approve").click()
        expect(manager_page.locator(".message.success")).to_have_text(
            "Escalation of FEED01 to hard collection approved."
        )
        expect(manager_page.get_by_test_id("escalation")).to_have_count(0)

        manager_page.goto(base + "/dealers/FEED01/collection/")
        expect(manager_page.get_by_test_id("stage")).to_have_text("Hard collection")
        expect(manager_page.get_by_test_id("credit-status")).to_contain_text("Credit hold")
        expect(manager_page.get_by_test_id("stage-history")).to_contain_text(
            "Approved: credit hold from today."
        )
        manager_page.screenshot(path=f"{SHOTS}-panel-hard-laptop.png", full_page=True)
    finally:
        context.close()

    # Back in the collector's browser, the account is hard too.
    page.goto(base + "/dealers/FEED01/collection/")
    expect(page.get_by_test_id("stage")).to_have_text("Hard collection")


def test_worklist_on_a_tablet_keeps_every_row_readable(page: Page, live_server, desk):
    page.set_viewport_size(TABLET)
    log_in(page, live_server.url, "/worklist/", "carl")
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(3)
    # Nothing wider than the screen: no horizontal scrolling of the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"]
    page.screenshot(path=f"{SHOTS}-worklist-tablet.png", full_page=True)

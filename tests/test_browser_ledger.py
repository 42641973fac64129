"""Click through the ledger pages in Chromium, at a laptop and at a tablet size."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from receivables.allocation import reallocate_dealers
from receivables.dates import business_today
from receivables.models import Contact
from tests.factories import (
    PASSWORD,
    ContactFactory,
    DealerFactory,
    OrderFactory,
    PaymentFactory,
    UserFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def portfolio(transactional_db):
    """A collector with 30 dealers (two regions, growing overdue) and a colleague's dealer."""
    today = business_today()
    carl = UserFactory(role="collector", username="carl", first_name="Carl", last_name="Rossi")
    cora = UserFactory(role="collector", username="cora")
    for n in range(30):
        dealer = DealerFactory(
            code=f"D{n:03d}",
            name="Special Feeds GmbH" if n == 7 else f"Landhandel {n}",
            region="North" if n % 2 else "South",
            collector=carl,
        )
        due_on = today - dt.timedelta(days=5 + 10 * n)
        OrderFactory(
            dealer=dealer,
            number=f"INV-{n:03d}",
            ordered_on=due_on - dt.timedelta(days=30),
            due_on=due_on,
            amount=Decimal("1000.00") + n,
        )
    detail = DealerFactory._meta.model.objects.get(code="D007")
    OrderFactory(
        dealer=detail,
        number="INV-DISPUTED",
        ordered_on=today - dt.timedelta(days=3),
        due_on=today + dt.timedelta(days=27),
        amount=Decimal("480.00"),
        disputed=True,
        dispute_reason="Short delivery",
    )
    PaymentFactory(dealer=detail, reference="TRX-7", received_on=today, amount=Decimal("250.00"))
    ContactFactory(dealer=detail, name="Petra Owner", role=Contact.Role.OWNER)
    reallocate_dealers([detail.pk])
    DealerFactory(code="X-OTHER", name="Not Carl's", collector=cora)
    return carl


def log_in(page: Page, base_url: str, username: str = "carl") -> None:
    page.goto(base_url + "/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def dealer_rows(page: Page):
    return page.locator("table.dealers tbody tr")


def test_collector_clicks_through_the_ledger_on_a_laptop(page: Page, live_server, portfolio):
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url)

    expect(page.get_by_test_id("overdue-dealers")).to_have_text("30")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dealers").click()
    expect(page.get_by_role("heading", name="Dealers")).to_be_visible()
    expect(dealer_rows(page)).to_have_count(25)
    expect(page.get_by_text("Not Carl's")).to_have_count(0)

    # Filtering goes through htmx: the page is not reloaded, the URL follows.
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Search").fill("special")
    expect(dealer_rows(page)).to_have_count(1)
    expect(dealer_rows(page).first).to_contain_text("Special Feeds GmbH")
    expect(page).to_have_url(re.compile(r"q=special"))
    assert page.evaluate("window.notReloaded") is True

    page.get_by_label("Search").fill("")
    expect(dealer_rows(page)).to_have_count(25)
    page.get_by_label("Region").select_option("North")
    expect(page.locator(".result-count")).to_contain_text("15 dealers")
    page.get_by_label("Region").select_option("")
    page.get_by_label("Overdue only").check()
    expect(page.locator(".result-count")).to_contain_text("30 dealers")
    expect(page).to_have_url(re.compile(r"overdue=on"))

    # Sort by code from the column header; the sort select follows.
    page.get_by_role("link", name="Code").click()
    expect(dealer_rows(page).first).to_contain_text("D000")
    expect(page.get_by_label("Sort by")).to_have_value("code")

    page.get_by_role("link", name="Page 2").click()
    expect(dealer_rows(page)).to_have_count(5)
    expect(dealer_rows(page).first).to_contain_text("D025")
    expect(page).to_have_url(re.compile(r"page=2"))
    assert page.evaluate("window.notReloaded") is True

    # Back and forward keep working with the pushed URLs.
    page.go_back()
    expect(dealer_rows(page)).to_have_count(25)

    page.get_by_role("link", name="Page 2").click()
    page.get_by_role("link", name="D029", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("D029"))).to_be_visible()
    expect(page.get_by_role("region", name="Open items")).to_contain_text("INV-029")

    page.goto(live_server.url + "/dealers/D007/")
    expect(page.get_by_role("heading", name=re.compile("Special Feeds GmbH"))).to_be_visible()
    expect(page.get_by_text("Short delivery")).to_be_visible()
    expect(page.get_by_text("Petra Owner")).to_be_visible()
    expect(page.get_by_role("region", name="Payments")).to_contain_text("TRX-7")
    page.screenshot(path="/tmp/rd_dealer_detail_laptop.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Aging report").click()
    aging_rows = page.locator("table.aging-table tbody tr")
    expect(aging_rows).to_have_count(8)
    expect(page.locator("table.aging-table tfoot")).to_contain_text("31")
    # On the due date of the oldest order nothing is 181 days late yet.
    page.get_by_label("As of").fill((business_today() - dt.timedelta(days=200)).isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"as_of=\d{4}-\d{2}-\d{2}"))
    expect(page.locator('tr[data-bucket="181-365"] td').first).to_have_text("0")
    page.screenshot(path="/tmp/rd_aging_laptop.png", full_page=True)

    page.get_by_label("As of").fill("")
    page.goto(live_server.url + "/reports/aging/?as_of=2026-02-30")
    expect(page.locator("#id_as_of_error")).to_be_visible()


def test_other_collectors_dealer_is_not_found(page: Page, live_server, portfolio):
    log_in(page, live_server.url)
    response = page.goto(live_server.url + "/dealers/X-OTHER/")
    assert response is not None and response.status == 404


def test_wrong_password_shows_the_error(page: Page, live_server, portfolio):
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("carl")
    page.get_by_label("Password").fill("nope")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")


def no_horizontal_page_scroll(page: Page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_key_elements_fit_the_screen(page: Page, live_server, portfolio, viewport):
    page.set_viewport_size(viewport)
    log_in(page, live_server.url)
    nav = page.get_by_role("navigation", name="Main")
    for name in ["Dashboard", "Dealers", "Aging report"]:
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_test_id("total-overdue")).to_be_visible()
    assert no_horizontal_page_scroll(page)

    page.goto(live_server.url + "/dealers/")
    for label in ["Search", "Region", "Country", "Has items aged", "Sort by", "Overdue only"]:
        expect(page.get_by_label(label)).to_be_visible()
    expect(page.get_by_role("region", name="Dealers")).to_be_visible()
    expect(page.get_by_role("navigation", name="Dealer pages")).to_be_visible()
    # The table scrolls inside its wrapper; the page itself does not.
    assert no_horizontal_page_scroll(page)
    page.screenshot(path=f"/tmp/rd_dealers_{viewport['width']}.png", full_page=False)

    page.goto(live_server.url + "/dealers/D007/")
    expect(page.get_by_role("region", name="Open items")).to_be_visible()
    assert no_horizontal_page_scroll(page)

    page.goto(live_server.url + "/reports/aging/")
    expect(page.get_by_label("As of")).to_be_visible()
    expect(page.locator(".bar").first).to_be_visible()
    assert no_horizontal_page_scroll(page)
    page.screenshot(path=f"/tmp/rd_aging_{viewport['width']}.png", full_page=True)


def test_dashboard_and_login_screens(page: Page, live_server, portfolio):
    page.set_viewport_size(TABLET)
    page.goto(live_server.url + "/login/")
    expect(page.get_by_label("Username")).to_be_focused()
    page.screenshot(path="/tmp/rd_login_768.png")
    log_in(page, live_server.url)
    page.set_viewport_size(LAPTOP)
    expect(page.get_by_role("table").get_by_role("link").first).to_contain_text("D029")
    page.screenshot(path="/tmp/rd_home_1366.png", full_page=True)

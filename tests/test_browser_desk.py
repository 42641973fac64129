"""The team desk in Chromium, on a laptop and on a tablet: a manager logs in, opens the
desk, reads every section (aging, KPIs, stages and risk, the collectors' load, alerts, the
allowance, expected cash, credit overrides) with its chart beside its table, follows a
collector to the filtered worklist, and recomputes the figures with "Refresh now".

With SCREENSHOTS=1 the page is saved to docs/screenshots/team-desk-<width>.png."""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning.models import Alert, CollectionAccount, ContactLog, Promise
from receivables.allocation import reallocate_dealers
from receivables.dates import business_today
from receivables.models import ExchangeRate
from tests.collection_helpers import overdue_dealer
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def a_book(today: dt.date) -> dict[str, Any]:
    """Four dealers, one per risk class but dead, in two currencies, with a promise, a
    contact, a danger sign and a credit-hold override."""
    mona = UserFactory(role="manager", username="mona", first_name="Mona", last_name="Berg")
    carl = UserFactory(role="collector", username="carl", first_name="Carl", last_name="Hahn")
    cora = UserFactory(role="collector", username="cora", first_name="Cora", last_name="Ries")
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2000, 1, 1), rate=Decimal("0.04"))
    hof = overdue_dealer(
        code="FEED01", name="Hof Brandt", days=40, amount="1000.00", collector=carl, today=today
    )
    PaymentFactory(dealer=hof, received_on=today, amount=Decimal("100.00"))
    reallocate_dealers([hof.pk])
    overdue_dealer(
        code="FEED02",
        name="Zemědělská Praha",
        days=400,
        amount="10000.00",
        currency="CZK",
        country="CZ",
        collector=carl,
        today=today,
    )
    muehle = overdue_dealer(
        code="FEED03", name="Mühle Vogt", days=120, amount="2000.00", collector=cora, today=today
    )
    agrar = DealerFactory(code="FEED04", name="Agrar Lindner")
    OrderFactory(dealer=agrar, ordered_on=today, due_on=today + dt.timedelta(days=30))
    Promise.objects.create(
        dealer=hof,
        amount=Decimal("50.00"),
        requested_due_on=today - dt.timedelta(days=20),
        due_on=today - dt.timedelta(days=20),
        made_on=today - dt.timedelta(days=25),
        status=Promise.Status.KEPT,
    )
    Promise.objects.create(
        dealer=hof,
        amount=Decimal("300.00"),
        requested_due_on=today + dt.timedelta(days=7),
        due_on=today + dt.timedelta(days=7),
        made_on=today,
        made_by=carl,
    )
    ContactLog.objects.create(
        dealer=hof,
        channel=ContactLog.Channel.PHONE,
        at=dt.datetime.now(dt.UTC),
        outcome=ContactLog.Outcome.PROMISE,
        logged_by=carl,
    )
    Alert.objects.create(
        dealer=muehle, kind=Alert.Kind.DEALER_EVENT, message="Relocation: moved to Bremen."
    )
    CollectionAccount.objects.create(
        dealer=muehle,
        credit_hold_override_until=today + dt.timedelta(days=10),
        credit_hold_override_by=mona,
        credit_hold_override_reason="Pays weekly by transfer",
    )
    return {"carl": carl, "agrar": agrar}


def section(page: Page, title: str) -> Any:
    return page.locator("section").filter(has=page.get_by_role("heading", name=title, level=2))


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_a_manager_reads_the_team_desk_and_refreshes_it(
    page: Page, live_server: Any, viewport: dict[str, int]
) -> None:
    today = business_today()
    book = a_book(today)

    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "mona")
    page.goto(live_server.url + "/desk/")

    expect(page.get_by_role("heading", name="Team desk", level=1)).to_be_visible()
    expect(page.get_by_test_id("figures-as-of")).to_have_text(
        re.compile(r"Figures as of \d\d:\d\d\.")
    )
    assert fits_the_window(page)

    # Every chart is drawn, fits its box and names itself.
    charts = page.locator("svg[role=img]")
    expect(charts).to_have_count(10)
    for index in range(10):
        box = charts.nth(index).bounding_box()
        assert box is not None and 0 < box["width"] <= viewport["width"]
    expect(page.locator("#chart-aging title")).to_have_text("Open amount by days past due")

    # 1. Aging: 900.00 + 10,000 CZK at 0.04 + 2,000.00 + 1,000.00 in EUR, and per currency.
    aging = section(page, "Aging of the whole book")
    expect(aging.get_by_test_id("aging-EUR").first.locator("tfoot")).to_contain_text("4,300.00")
    expect(aging.get_by_test_id("aging-CZK")).to_contain_text("10,000.00")
    expect(aging.locator('[data-bucket="91-180"]').first).to_contain_text("2,000.00")

    # 2. Twelve months of KPIs, the current one to date.
    kpis = page.get_by_test_id("kpi-table")
    expect(kpis.locator("tbody tr")).to_have_count(12)
    expect(kpis.locator("tbody tr").last).to_contain_text(today.strftime("%b %Y"))

    # 3. Stages and risk classes.
    expect(page.get_by_test_id("risk-table").locator('[data-class="quasi_bad"]')).to_contain_text(
        "2,000.00"
    )
    expect(page.get_by_test_id("stage-table").locator('[data-stage="current"]')).to_contain_text(
        "4,300.00"
    )

    # 4. The collectors: Carl has two dealers, 1,300.00 overdue, a contact, a promise and
    # 100.00 recovered; his name leads to his worklist.
    carl = page.get_by_test_id("collector-table").locator(f'[data-collector="{book["carl"].pk}"]')
    expect(carl).to_contain_text("Carl Hahn")
    expect(carl.locator("td")).to_have_text(["2", "2", "1,300.00 EUR", "1", "1", "100.00 EUR"])

    # 5. The danger sign, linked to the dealer's collection page.
    alerts = page.get_by_test_id("alert-table")
    expect(alerts).to_contain_text("Relocation: moved to Bremen.")
    expect(alerts.get_by_role("link", name="FEED03 Mühle Vogt")).to_have_attribute(
        "href", "/dealers/FEED03/collection/"
    )
    expect(page.get_by_test_id("alert-count")).to_have_text("1")

    # 6. The allowance: 1,000 x 1 % + 900 x 5 % + 2,000 x 20 % + 400 x 50 %.
    expect(page.get_by_test_id("allowance-total")).to_have_text("655.00")
    expect(page.get_by_test_id("allowance-EUR").locator('[data-class="bad"]')).to_contain_text(
        "400.00"
    )

    # 7. Expected cash: eight weeks, the promise of next week expected in full (its dealer
    # kept the one before).
    forecast = page.get_by_test_id("forecast-EUR")
    expect(forecast.locator("tbody tr")).to_have_count(8)
    expect(page.get_by_test_id("forecast-expected-total")).to_have_text("300.00")

    # 8. The override, with who and why.
    override = page.get_by_test_id("override-table").locator('[data-dealer="FEED03"]')
    expect(override).to_contain_text("Pays weekly by transfer")
    expect(override).to_contain_text("Mona Berg")
    expect(override).to_contain_text((today + dt.timedelta(days=10)).strftime("%-d %b %Y"))

    assert fits_the_window(page)
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"team-desk-{viewport['width']}.png", full_page=True)

    # The collector's name opens the worklist filtered to him.
    carl.get_by_role("link", name="Carl Hahn").click()
    expect(page).to_have_url(re.compile(rf"/worklist/\?collector={book['carl'].pk}$"))
    expect(page.get_by_label("Collector")).to_have_value(str(book["carl"].pk))
    page.go_back()

    # A new order: the kept figures stay until a manager asks for new ones.
    OrderFactory(
        dealer=book["agrar"],
        ordered_on=today,
        due_on=today + dt.timedelta(days=30),
        amount=Decimal("500.00"),
    )
    page.reload()
    expect(aging.get_by_test_id("aging-EUR").first.locator("tfoot")).to_contain_text("4,300.00")
    page.get_by_role("button", name="Refresh now").click()

    expect(page.get_by_text("The figures have been recomputed.")).to_be_visible()
    expect(aging.get_by_test_id("aging-EUR").first.locator("tfoot")).to_contain_text("4,800.00")
    assert fits_the_window(page)

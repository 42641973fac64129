"""The approvals page in Chromium, on a laptop (1280 px) and on a tablet (768 px): a
manager filters the queue to requests for hard collection, sorts it by the amount
overdue, ticks three requests and approves them with one note, tries to reject one
without a reason and is told to give one, then rejects it with a reason. The page never
scrolls sideways and the bulk bar stays in reach at the end of the list.

With SCREENSHOTS=1 the page is saved as docs/screenshots/approvals-1280.png and
approvals-768.png."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning import services
from dunning.models import CollectionAccount, Escalation, Stage
from receivables.models import ExchangeRate
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def log_in(page: Page, base_url: str, path: str, username: str) -> None:
    page.goto(base_url + path)
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


def fits_the_window(page: Page) -> bool:
    """Nothing makes the page scroll sideways."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def soft_request(
    code: str, name: str, *, by: Any, today: Any, days: int, amount: str, **fields: Any
) -> Escalation:
    dealer = overdue_dealer(code=code, name=name, days=days, amount=amount, today=today, **fields)
    CollectionAccount.objects.create(dealer=dealer, stage=Stage.SOFT)
    return services.request_escalation(
        dealer=dealer,
        to_stage=Stage.HARD,
        reason=f"{days} days past due and two broken promises; the owner no longer answers.",
        by=by,
        today=today,
    )


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["1280", "768"])
def test_a_manager_works_through_the_approvals(
    page: Page, live_server: Any, viewport: dict[str, int]
) -> None:
    today = services.business_today()
    UserFactory(role="manager", username="mona")
    carl = UserFactory(role="collector", username="carl")
    ExchangeRate.objects.create(currency="CZK", on=today, rate=Decimal("0.04"))
    requests = {
        "brandt": soft_request(
            "FEED01", "Hof Brandt", by=carl, today=today, days=75, amount="4200.00", collector=carl
        ),
        "vogt": soft_request(
            "FEED02", "Mühle Vogt", by=carl, today=today, days=48, amount="12400.00", collector=carl
        ),
        "novak": soft_request(
            "FEED03",
            "Agro Novák",
            by=None,
            today=today,
            days=64,
            amount="150000.00",
            currency="CZK",
            country="CZ",
        ),
        "lindner": soft_request(
            "FEED04",
            "Agrar Lindner",
            by=carl,
            today=today,
            days=40,
            amount="900.00",
            collector=carl,
        ),
        "kraus": soft_request(
            "FEED05",
            "Kraus Futter",
            by=carl,
            today=today,
            days=95,
            amount="2500.00",
            collector=carl,
        ),
    }
    # One request for litigation, which the filter leaves out.
    litigation = services.request_escalation(
        dealer=requests["kraus"].dealer,
        to_stage=Stage.LITIGATION,
        reason="Bankruptcy filed",
        by=carl,
        today=today,
    )

    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "/escalations/", "mona")
    rows = page.get_by_test_id("escalation")
    expect(rows).to_have_count(6)
    expect(page.get_by_role("heading", name="Approvals")).to_be_visible()

    # Filter: requests for hard collection only.
    page.get_by_label("Move to").select_option(label="Hard collection")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(5)
    expect(page.locator(f'[data-id="{litigation.pk}"]')).to_have_count(0)
    assert fits_the_window(page)

    # Sort: least overdue first, by the column header on a laptop and by the sort
    # select on a tablet (where the rows are cards without a header row).
    if viewport == LAPTOP:
        # Most overdue first is the default: the header turns it around.
        header = page.get_by_role("columnheader", name="Overdue")
        expect(header).to_have_attribute("aria-sort", "descending")
        header.get_by_role("link").click()
        expect(page.get_by_role("columnheader", name="Overdue")).to_have_attribute(
            "aria-sort", "ascending"
        )
    else:
        page.get_by_label("Sort by").select_option(label="Least overdue first")
        page.get_by_role("button", name="Show", exact=True).click()
    expect(page).to_have_url(re.compile(r"sort=overdue"))
    # 900 EUR, 2,500 EUR, 4,200 EUR, 150,000 CZK = 6,000 EUR, 12,400 EUR.
    expect(rows.nth(0)).to_contain_text("Agrar Lindner")
    expect(rows.nth(3)).to_contain_text("Agro Novák")
    expect(rows.nth(3)).to_contain_text("6,000.00")
    expect(rows.nth(3)).to_contain_text("proposed by the daily sweep")
    expect(rows.nth(4)).to_contain_text("Mühle Vogt")
    expect(rows.nth(0)).to_contain_text("Soft collection → Hard collection")
    expect(rows.nth(0)).to_contain_text("requested by carl")

    # Three ticked, approved with one note.
    bulk = page.get_by_role("form", name="Decide the selected requests")
    for key in ("lindner", "kraus", "brandt"):
        request = requests[key]
        page.get_by_label(f"Select request #{request.pk} of {request.dealer.name}").check()
    expect(bulk.locator("#selected-count")).to_have_text("3")
    bulk.get_by_label("Note for the selected requests").fill("Credit hold from today.")
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the bulk bar in its place, not stuck
        page.screenshot(
            path=str(SCREENSHOTS / f"approvals-{viewport['width']}.png"), full_page=True
        )
    bulk.get_by_role("button", name="Approve selected").click()

    outcomes = page.get_by_test_id("outcome")
    expect(page.get_by_test_id("outcomes")).to_contain_text("3 of 3 selected requests approved.")
    expect(outcomes).to_have_text(
        [f"✓ #{requests[key].pk} approved" for key in ("lindner", "kraus", "brandt")]
    )
    expect(rows).to_have_count(2)
    assert fits_the_window(page)
    for key in ("lindner", "kraus", "brandt"):
        requests[key].refresh_from_db()
        assert (requests[key].status, requests[key].decision_note) == (
            "approved",
            "Credit hold from today.",
        )

    # A rejection without a reason is refused: the page says so and keeps the tick.
    vogt = requests["vogt"]
    page.get_by_label(f"Select request #{vogt.pk} of Mühle Vogt").check()
    bulk.get_by_role("button", name="Reject selected").click()
    expect(bulk.get_by_role("alert")).to_have_text(
        "Say why you reject them: the requester reads the reason."
    )
    expect(page.get_by_label(f"Select request #{vogt.pk} of Mühle Vogt")).to_be_checked()
    vogt.refresh_from_db()
    assert vogt.status == "pending"

    # With a reason it is rejected.
    bulk.get_by_label("Note for the selected requests").fill("Paid half yesterday; a plan follows.")
    # At the end of the list the bar is still on screen.
    rows.last.scroll_into_view_if_needed()
    expect(bulk.get_by_role("button", name="Reject selected")).to_be_in_viewport()
    bulk.get_by_role("button", name="Reject selected").click()
    expect(outcomes).to_have_text([f"✓ #{vogt.pk} rejected"])
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Agro Novák")
    vogt.refresh_from_db()
    assert (vogt.status, vogt.decision_note) == ("rejected", "Paid half yesterday; a plan follows.")
    assert fits_the_window(page)

"""Every page of every role in Chromium, on a laptop and on a tablet: nothing makes the
page scroll sideways, every input, select and text area has a name a screen reader reads
out (a label, aria-label or aria-labelledby: what Playwright's accessibility snapshot
shows), every link and button has a name, and the keyboard reaches the main menu and the
page's first control."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page

from dunning import services
from dunning.models import CollectionAccount, Stage
from receivables.models import Agency
from tests.collection_helpers import overdue_dealer
from tests.factories import UserFactory
from tests.test_agency import place
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

# Controls without a name the accessibility tree can read out.
UNNAMED = """() => {
  const named = (el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return true;
    if (el.labels && el.labels.length) return true;
    if (el.getAttribute('title')) return true;
    return false;
  };
  const found = [];
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button') continue;
    if (!named(el)) found.push(el.outerHTML.slice(0, 120));
  }
  for (const el of document.querySelectorAll('a[href], button')) {
    const text = (el.textContent || '').trim() || el.getAttribute('aria-label') ||
      el.getAttribute('title') || (el.querySelector('img[alt]') || {}).alt;
    if (!text) found.push(el.outerHTML.slice(0, 120));
  }
  return found;
}"""

PAGES = {
    "manager": [
        "/desk/",
        "/escalations/",
        "/worklist/",
        "/dealers/",
        "/dealers/A11Y01/",
        "/dealers/A11Y01/collection/",
        "/reports/aging/",
        "/tasks/",
        "/alerts/",
        "/team/reassign/",
        "/team/policy/",
        "/team/excuses/",
        "/team/credit-overrides/",
    ],
    "finance": [
        "/finance/",
        "/finance/import/",
        "/finance/payments/",
        "/finance/payments/new/",
        "/print-room/",
        "/print-room/reconciliation/",
    ],
    "collector": ["/worklist/", "/tasks/", "/dealers/", "/dealers/A11Y01/collection/"],
    "agency": ["/agency/", "/agency/dealers/A11Y03/", "/agency/commission/", "/dealers/"],
    "auditor": [
        "/",
        "/desk/",
        "/dealers/A11Y01/",
        "/dealers/A11Y01/history/",
        "/dealers/A11Y01/collection/",
        "/alerts/",
        "/escalations/",
        "/team/policy/",
    ],
}


def a_book(today: dt.date) -> None:
    UserFactory(role="manager", username="mona")
    UserFactory(role="finance", username="fiona")
    carl = UserFactory(role="collector", username="carl")
    dealer = overdue_dealer(code="A11Y01", name="Hof Brandt", days=75, collector=carl, today=today)
    CollectionAccount.objects.create(dealer=dealer, stage=Stage.SOFT)
    services.request_escalation(
        dealer=dealer, to_stage=Stage.HARD, reason="75 days past due", by=carl, today=today
    )
    overdue_dealer(code="A11Y02", name="Mühle Vogt", days=20, collector=carl, today=today)
    agency = Agency.objects.create(name="Inkasso Nord", commission_percent=Decimal("15.00"))
    agency.users.add(UserFactory(role="agency", username="agnes"))
    UserFactory(role="auditor", username="audrey")
    placed = overdue_dealer(code="A11Y03", name="Agrar Lindner", days=200, today=today)
    place(placed, agency, on=today - dt.timedelta(days=20))


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["1280", "768"])
@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_fits_and_names_its_controls(
    page: Page, live_server: Any, role: str, viewport: dict[str, int]
) -> None:
    a_book(services.business_today())
    username = {
        "manager": "mona",
        "finance": "fiona",
        "collector": "carl",
        "agency": "agnes",
        "auditor": "audrey",
    }[role]
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, username)
    problems = {}
    for path in PAGES[role]:
        response = page.goto(live_server.url + path)
        assert response is not None and response.status == 200, (path, response)
        unnamed = page.evaluate(UNNAMED)
        if unnamed:
            problems[path] = unnamed
        if not fits_the_window(page):
            problems.setdefault(path, []).append("scrolls sideways")
    assert problems == {}


def test_the_keyboard_reaches_the_menu_and_the_page(page: Page, live_server: Any) -> None:
    a_book(services.business_today())
    page.set_viewport_size(LAPTOP)
    log_in(page, live_server.url, "mona")
    page.goto(live_server.url + "/worklist/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Worklist" in seen and "Approvals" in seen

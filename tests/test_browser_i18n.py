"""The collector's worklist and dealer list in Chromium, in Simplified Chinese, on a laptop
and on a tablet: the collector picks 简体中文 from the language menu, reads the worklist
(count, figures, the "why first?" parts of the score), switches to the list of dealers
nobody calls, and opens the dealer list, whose headings and count are Chinese too.

With SCREENSHOTS=1 the worklist at 1280 px is saved as
docs/screenshots/worklist-zh-1280.png."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning.services import business_today
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, UserFactory

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


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_collector_reads_the_worklist_in_chinese(
    page: Page, live_server: Any, viewport: dict[str, int]
) -> None:
    today = business_today()
    carl = UserFactory(role="collector", username="carl")
    overdue_dealer(
        code="FEED01", name="Hof Brandt", days=75, amount="12500.00", collector=carl, today=today
    )
    overdue_dealer(
        code="FEED02", name="Mühle Vogt", days=20, amount="800.00", collector=carl, today=today
    )
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "carl")

    # The language menu switches the whole site to Chinese.
    page.goto(live_server.url + "/worklist/")
    page.get_by_test_id("language-menu").locator("select").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.goto(live_server.url + "/worklist/")

    expect(page.get_by_role("heading", name="工作清单", level=1)).to_be_visible()
    expect(page.locator(".result-count")).to_contain_text("待处理经销商 2 个")
    rows = page.get_by_test_id("worklist-row")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first).to_have_attribute("data-dealer", "FEED01")  # the larger, older debt first
    expect(first.locator(".dn-figures")).to_contain_text("逾期")
    expect(first.locator(".dn-figures")).to_contain_text("12,500.00")
    expect(first.locator(".dn-figures")).not_to_contain_text("Overdue")

    # "Why first?" opens the parts of the score, named in Chinese.
    first.locator("summary").click()
    parts = first.locator("table.dn-parts")
    expect(parts).to_be_visible()
    expect(parts).to_contain_text("逾期金额")
    expect(parts).to_contain_text("得分")
    expect(parts).not_to_contain_text("amount overdue")
    assert fits_the_window(page)

    if os.environ.get("SCREENSHOTS") == "1" and viewport == LAPTOP:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "worklist-zh-1280.png"), full_page=True)

    # The other list: nobody is with lawyers or an agency here.
    page.get_by_role("link", name="已交律师、催收机构或已核销").click()
    expect(page).to_have_url(re.compile(r"list=out_of_calls"))
    expect(page.locator(".result-count")).to_have_text(
        "没有经销商处于诉讼、委托催收机构或已核销状态。"
    )
    expect(page.get_by_test_id("worklist-row")).to_have_count(0)

    # The dealer list: headings, dates and the count in Chinese.
    page.goto(live_server.url + "/dealers/")
    table = page.locator("table.dealers")
    expect(table.get_by_role("columnheader", name="逾期天数")).to_be_visible()
    expect(table.get_by_role("columnheader", name="Days past due")).to_have_count(0)
    expect(page.locator(".result-count")).to_contain_text("2")
    expect(page.locator(".result-count")).not_to_contain_text("dealers")
    oldest = table.locator("tr", has_text="FEED01").locator("td.date")
    expect(oldest).to_contain_text("年")  # 2026年1月1日, not 2026-01-01
    assert fits_the_window(page)

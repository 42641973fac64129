"""The team pages in Chromium, on a laptop and on a tablet: a manager gives ten of Carl's
dealers to Cora by ticking them, then the ten unassigned dealers to Carl by filter
(confirming their number), changes a value of the collection policy and finds it in the
history, edits an excuse and takes another out of the contact form, and ends a credit
hold override early.

With SCREENSHOTS=1 the pages are saved to docs/screenshots/team-reassign-<width>.png and
team-policy-1280.png."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning.models import CollectionAccount, CollectionPolicy, Excuse, Stage, Task
from dunning.services.stages import override_credit_hold
from receivables.dates import business_today
from receivables.models import Dealer
from tests.collection_helpers import overdue_dealer
from tests.factories import UserFactory
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window, log_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / name, full_page=True)


def a_team(today: dt.date) -> dict[str, Any]:
    """Carl's twelve dealers (one on credit hold with an override), ten unassigned Czech
    dealers, and two excuses."""
    mona = UserFactory(role="manager", username="mona", first_name="Mona", last_name="Berg")
    carl = UserFactory(role="collector", username="carl", first_name="Carl", last_name="Hahn")
    cora = UserFactory(role="collector", username="cora", first_name="Cora", last_name="Ries")
    carls = [
        overdue_dealer(
            code=f"FEED{n:02d}",
            name=f"Hof {n} Futtermittel",
            days=10 + n,
            amount=f"{1000 + 100 * n}.00",
            collector=carl,
            today=today,
        )
        for n in range(1, 13)
    ]
    for n in range(1, 11):
        overdue_dealer(
            code=f"CZ{n:02d}",
            name=f"Zemědělství {n}",
            country="CZ",
            currency="CZK",
            amount="25000.00",
            collector=None,
            today=today,
        )
    Task.objects.create(
        dealer=carls[0], assignee=carl, kind=Task.Kind.CALL, due_on=today, reason="Call back"
    )
    hold = overdue_dealer(code="HOLD01", name="Agrar Lindner", days=90, collector=cora, today=today)
    CollectionAccount.objects.create(dealer=hold, stage=Stage.HARD)
    override_credit_hold(
        dealer=hold,
        until=today + dt.timedelta(days=20),
        reason="Harvest money due in April",
        by=mona,
        today=today,
    )
    # The migration seeds the library, but a transactional test before may have emptied it.
    Excuse.objects.update_or_create(
        text="Next month",
        defaults={
            "counter_script": "The invoice was due last month.",
            "ask": "A date this week and the amount.",
            "position": 10,
            "active": True,
        },
    )
    Excuse.objects.update_or_create(
        text="The goods have not sold",
        defaults={
            "counter_script": "The feed was bought on credit, not on commission.",
            "ask": "Part now, the rest by a date.",
            "position": 20,
            "active": True,
        },
    )
    return {"mona": mona, "carl": carl, "cora": cora, "carls": carls}


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_a_manager_runs_the_team_pages(
    page: Page, live_server: Any, viewport: dict[str, int]
) -> None:
    today = business_today()
    team = a_team(today)
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "mona")
    page.goto(live_server.url + "/team/reassign/")

    # 1. Ten of Carl's dealers to Cora, ticked by hand.
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    page.get_by_label("Collector now").select_option(label="Carl Hahn")
    page.get_by_role("button", name="Show").click()
    rows = page.get_by_test_id("dealer")
    expect(rows).to_have_count(12)
    expect(page.get_by_test_id("matching")).to_contain_text("12 dealers match")
    # "Select all on this page" ticks the twelve; unticking it clears them.
    page.get_by_label("Select every dealer on this page").check()
    expect(page.locator("#ticked-count")).to_have_text("12 ticked")
    page.get_by_label("Select every dealer on this page").uncheck()
    expect(page.locator("#ticked-count")).to_have_text("")
    ticked = [f"FEED{n:02d}" for n in range(1, 11)]
    for n in range(1, 11):
        page.get_by_label(f"Select FEED{n:02d} Hof {n} Futtermittel", exact=True).check()
    expect(page.locator("#ticked-count")).to_have_text("10 ticked")
    page.get_by_label("Move to").select_option(label="Cora Ries")
    page.get_by_label("Reason").fill("Carl is on leave until May")
    assert fits_the_window(page)
    screenshot(page, f"team-reassign-{viewport['width']}.png")
    page.get_by_role("button", name="Move the ticked dealers").click()

    expect(
        page.get_by_text(
            "10 dealers moved from Carl Hahn to Cora Ries. 1 open task went with them."
        )
    ).to_be_visible()
    expect(rows).to_have_count(2)  # the filter stays: Carl keeps two
    assert set(
        Dealer.objects.filter(collector=team["cora"], code__startswith="FEED").values_list(
            "code", flat=True
        )
    ) == set(ticked)
    assert Task.objects.get().assignee == team["cora"]
    assert fits_the_window(page)

    # 2. The ten unassigned dealers to Carl, by filter, confirming their number.
    page.get_by_label("Collector now").select_option(label="Unassigned")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("matching")).to_contain_text("10 dealers match")
    page.get_by_label("Move to").select_option(label="Carl Hahn")
    page.get_by_label("Reason").fill("Carl takes the Czech dealers")
    page.get_by_role("button", name="Move all 10 dealers matching this filter").click()

    expect(page.get_by_test_id("confirm-count")).to_have_text("Move all 10 dealers to Carl Hahn?")
    expect(page.get_by_text("Collector now: Unassigned")).to_be_visible()
    assert fits_the_window(page)
    page.get_by_role("button", name="Yes, move all 10 dealers").click()

    expect(page.get_by_text("10 dealers moved from unassigned to Carl Hahn.")).to_be_visible()
    expect(page.get_by_text("No dealer matches this filter.")).to_be_visible()
    assert Dealer.objects.filter(collector=team["carl"], code__startswith="CZ").count() == 10

    # 3. The policy: a value out of order is explained, then a good one is kept.
    page.get_by_role("navigation", name="Team pages").get_by_role(
        "link", name="Collection policy"
    ).click()
    page.get_by_label("Second reminder, days past due").fill("5")
    page.get_by_label("Reason for the change").fill("Dealers asked for a later reminder")
    page.get_by_role("button", name="Save the policy").click()
    expect(
        page.get_by_text("The second reminder must come after the first one (7 days past due).")
    ).to_be_visible()
    assert CollectionPolicy.current().reminder_level2_days == 21
    page.get_by_label("Second reminder, days past due").fill("28")
    page.get_by_role("button", name="Save the policy").click()

    expect(
        page.get_by_text("Policy saved: 1 value changed (Second reminder, days past due).")
    ).to_be_visible()
    latest = page.get_by_test_id("history-entry").first
    expect(latest).to_contain_text("Mona Berg")
    expect(latest).to_contain_text("Dealers asked for a later reminder")
    change = latest.get_by_role("row", name="Second reminder, days past due")
    expect(change).to_contain_text("21")
    expect(change).to_contain_text("28")
    assert CollectionPolicy.current().reminder_level2_days == 28
    assert fits_the_window(page)
    if viewport == LAPTOP:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "team-policy-1280.png")

    # 4. The excuse library: an edit with its reason, and an excuse taken out of use.
    page.get_by_role("navigation", name="Team pages").get_by_role(
        "link", name="Excuse library"
    ).click()
    page.get_by_test_id("excuse").filter(has_text="Next month").get_by_role(
        "link", name="Edit"
    ).click()
    page.get_by_label("Counter script").fill(
        "The invoice was due last month; next month is a second debt."
    )
    page.get_by_label("Reason for the change").fill("Firmer answer")
    page.get_by_role("button", name="Save the excuse").click()
    expect(page.get_by_text("Excuse saved.")).to_be_visible()
    entry = page.get_by_test_id("history-entry").first
    expect(entry).to_contain_text("Firmer answer")
    expect(entry.get_by_role("row", name="Counter script")).to_contain_text(
        "next month is a second debt"
    )
    assert fits_the_window(page)
    page.get_by_role("link", name="Back to the library").click()
    page.get_by_role("button", name="Deactivate “The goods have not sold”").click()
    expect(page.get_by_text("is no longer offered to collectors")).to_be_visible()
    expect(
        page.get_by_test_id("excuse").filter(has_text="The goods have not sold")
    ).to_contain_text("Inactive")
    assert not Excuse.objects.get(text="The goods have not sold").active
    assert fits_the_window(page)

    # 5. The credit override ends now.
    page.get_by_role("navigation", name="Team pages").get_by_role(
        "link", name="Credit overrides"
    ).click()
    running = page.get_by_test_id("running").filter(has_text="HOLD01")
    expect(running).to_contain_text("Harvest money due in April")
    expect(running).to_contain_text("Mona Berg")
    assert fits_the_window(page)
    running.get_by_label("Why end the override of HOLD01 now").fill("The cheque bounced")
    running.get_by_role("button", name="End override now").click()

    expect(
        page.get_by_text("The credit-hold override of HOLD01 Agrar Lindner ended")
    ).to_be_visible()
    expect(page.get_by_test_id("running")).to_have_count(0)
    ended = page.get_by_test_id("ended").filter(has_text="HOLD01")
    expect(ended).to_contain_text("Early, by Mona Berg")
    expect(ended).to_contain_text("The cheque bounced")
    assert not CollectionAccount.objects.get(dealer__code="HOLD01").credit_hold_overridden(today)
    assert fits_the_window(page)

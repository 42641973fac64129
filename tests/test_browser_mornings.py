"""A manager's morning in Chromium, from the login form to the last change, on a laptop
and on a tablet: the team desk is where she lands; from the menu she filters the approvals
to requests for hard collection, approves three at once with one note, rejects one with
a reason (and is stopped when she forgets it), gives Carl's ten dealers to Cora, changes a
value of the collection policy, and finds the approved moves on the refreshed desk.

Finance's morning (a bad row seen before anything is written, the fixed file imported
with progress, a payment recorded after its preview, the print room) is walked by
tests/test_browser_finance.py; each page's details are in its own browser test."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dunning import services
from dunning.models import CollectionAccount, CollectionPolicy, Escalation, Stage
from receivables.models import Dealer
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, UserFactory
from tests.test_browser_approvals import soft_request
from tests.test_browser_printroom import LAPTOP, TABLET, fits_the_window

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["1280", "768"])
def test_a_managers_morning(page: Page, live_server: Any, viewport: dict[str, int]) -> None:
    today = services.business_today()
    UserFactory(role="manager", username="mona", first_name="Mona", last_name="Berg")
    carl = UserFactory(role="collector", username="carl", first_name="Carl", last_name="Hahn")
    cora = UserFactory(role="collector", username="cora", first_name="Cora", last_name="Ries")
    requests = [
        soft_request(
            f"REQ{n}",
            name,
            by=cora,
            today=today,
            days=40 + 10 * n,
            amount=f"{1000 * n}.00",
            collector=cora,
        )
        for n, name in enumerate(
            ["Hof Brandt", "Mühle Vogt", "Agrar Lindner", "Kraus Futter"], start=1
        )
    ]
    litigation = services.request_escalation(
        dealer=requests[3].dealer,
        to_stage=Stage.LITIGATION,
        reason="The owner sold the farm.",
        by=cora,
        today=today,
    )
    carls = [
        overdue_dealer(code=f"CARL{n:02d}", name=f"Hof {n}", days=n, collector=carl, today=today)
        for n in range(1, 11)
    ]

    page.set_viewport_size(viewport)
    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # The desk is where a manager's day starts.
    expect(page).to_have_url(re.compile(r"/desk/$"))
    expect(page.get_by_role("heading", name="Team desk", level=1)).to_be_visible()
    expect(page.get_by_text("Figures as of")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Desk")).to_have_attribute("aria-current", "page")
    assert fits_the_window(page)

    # Approvals: the requests for hard collection, three approved with one note.
    nav.get_by_role("link", name="Approvals").click()
    rows = page.get_by_test_id("escalation")
    expect(rows).to_have_count(5)
    page.get_by_label("Move to").select_option(label="Hard collection")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(rows).to_have_count(4)
    expect(page.locator(f'[data-id="{litigation.pk}"]')).to_have_count(0)
    bulk = page.get_by_role("form", name="Decide the selected requests")
    for request in requests[:3]:
        page.get_by_label(f"Select request #{request.pk} of {request.dealer.name}").check()
    bulk.get_by_label("Note for the selected requests").fill("Credit hold from today.")
    bulk.get_by_role("button", name="Approve selected").click()
    expect(page.get_by_test_id("outcomes")).to_contain_text("3 of 3 selected requests approved.")
    expect(rows).to_have_count(1)
    assert fits_the_window(page)

    # One rejected: not without a reason, then with one.
    kraus = requests[3]
    page.get_by_label(f"Select request #{kraus.pk} of Kraus Futter").check()
    bulk.get_by_role("button", name="Reject selected").click()
    expect(bulk.get_by_role("alert")).to_have_text(
        "Say why you reject them: the requester reads the reason."
    )
    kraus.refresh_from_db()
    assert kraus.status == Escalation.Status.PENDING
    bulk.get_by_label("Note for the selected requests").fill("A payment plan was agreed.")
    bulk.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_test_id("outcome")).to_have_text([f"✓ #{kraus.pk} rejected"])
    expect(rows).to_have_count(0)
    approved = Escalation.objects.filter(status=Escalation.Status.APPROVED)
    assert {e.pk for e in approved} == {r.pk for r in requests[:3]}
    assert set(
        CollectionAccount.objects.filter(stage=Stage.HARD).values_list("dealer__code", flat=True)
    ) == {"REQ1", "REQ2", "REQ3"}

    # Team: Carl's ten dealers go to Cora.
    nav.get_by_role("link", name="Team").click()
    page.get_by_label("Collector now").select_option(label="Carl Hahn")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("dealer")).to_have_count(10)
    page.get_by_label("Select every dealer on this page").check()
    expect(page.locator("#ticked-count")).to_have_text("10 ticked")
    page.get_by_label("Move to").select_option(label="Cora Ries")
    page.get_by_label("Reason").fill("Carl is on leave until May")
    page.get_by_role("button", name="Move the ticked dealers").click()
    expect(page.get_by_text("10 dealers moved from Carl Hahn to Cora Ries.")).to_be_visible()
    assert Dealer.objects.filter(pk__in=[d.pk for d in carls], collector=cora).count() == 10
    assert fits_the_window(page)

    # The collection policy: one value changed, with its reason in the history.
    page.get_by_role("navigation", name="Team pages").get_by_role(
        "link", name="Collection policy"
    ).click()
    page.get_by_label("Second reminder, days past due").fill("28")
    page.get_by_label("Reason for the change").fill("Dealers asked for a later reminder")
    page.get_by_role("button", name="Save the policy").click()
    expect(
        page.get_by_text("Policy saved: 1 value changed (Second reminder, days past due).")
    ).to_be_visible()
    expect(page.get_by_test_id("history-entry").first).to_contain_text(
        "Dealers asked for a later reminder"
    )
    assert CollectionPolicy.current().reminder_level2_days == 28

    # Back on the desk, refreshed: the three approved moves are in hard collection.
    nav.get_by_role("link", name="Desk").click()
    page.get_by_role("button", name="Refresh now").click()
    expect(page.get_by_text("Figures as of")).to_be_visible()
    hard = page.get_by_test_id("stage-table").locator('tr[data-stage="hard"]')
    expect(hard.get_by_role("rowheader")).to_have_text("Hard collection")
    expect(hard.get_by_role("cell").first).to_have_text("3")
    assert fits_the_window(page)

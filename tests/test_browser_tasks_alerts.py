"""The follow-up pages in Chromium: a collector marks a follow-up task done from the
navigation; a manager acknowledges an alert. Both on a tablet-sized screen too."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from dunning.models import Alert, Task
from dunning.services import business_today
from tests.factories import PASSWORD, DealerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

TABLET = {"width": 768, "height": 1024}


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def test_collector_marks_a_follow_up_done(page: Page, live_server) -> None:
    carl = UserFactory(role="collector", username="carl")
    dealer = DealerFactory(code="FEED07", name="Hof Brandt", collector=carl)
    Task.objects.create(
        dealer=dealer,
        assignee=carl,
        kind=Task.Kind.CALL,
        due_on=business_today(),
        window_from=dt.time(15, 0),
        window_to=dt.time(17, 0),
        reason="Promise of 1,200.00 broken: call and pin down a new date.",
    )
    page.set_viewport_size(TABLET)
    log_in(page, live_server.url, "carl")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    task = page.get_by_test_id("task")
    expect(task).to_have_count(1)
    expect(task).to_contain_text("Hof Brandt")
    expect(task).to_contain_text(re.compile(r"15:00\W17:00"))

    task.get_by_label("Outcome").fill("Reached the owner; new promise for Friday.")
    task.get_by_role("button", name="Mark done").click()

    expect(page.get_by_text("No open tasks.")).to_be_visible()
    done = Task.objects.get()
    assert done.done_at is not None
    assert done.outcome == "Reached the owner; new promise for Friday."


def test_manager_acknowledges_an_alert(page: Page, live_server) -> None:
    UserFactory(role="manager", username="mona")
    dealer = DealerFactory(code="FEED08", name="Agrar Vogt")
    Alert.objects.create(
        dealer=dealer,
        kind=Alert.Kind.DEALER_EVENT,
        message="Ownership transfer reported for FEED08: propose hard collection.",
    )
    log_in(page, live_server.url, "mona")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    alert = page.get_by_test_id("alert")
    expect(alert).to_contain_text("Ownership transfer reported")
    alert.get_by_role("button", name="Acknowledge").click()

    expect(page.get_by_test_id("alert")).to_have_count(0)
    page.get_by_role("link", name="Show acknowledged too").click()
    expect(page.get_by_test_id("alert")).to_contain_text("Acknowledged by mona")
    assert Alert.objects.get().acknowledged_by.username == "mona"

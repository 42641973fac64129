"""The reply page end to end in Chromium (docs/API.md "The reply page"): the dealer opens
the address printed on the reconciliation letter, confirms the statement without logging
in, and finance sees the reply on the letter in the print room."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from dunning import printing
from dunning.services import business_today
from dunning.services.reconciliation import issue_reconciliation_letter
from tests.collection_helpers import overdue_dealer
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

TABLET = {"width": 768, "height": 1024}


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any, live_server: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = live_server.url


def printed_reply_address(letter_id: int) -> str:
    """The reply address as the dealer reads it on the stored PDF."""
    stored = printing.store_pdf(letter_id)
    with stored.pdf.open("rb") as pdf:
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read())).pages)
    found = re.search(r"https?://\S+?/reply/[A-Za-z0-9_-]{20,}", text.replace("\n", ""))
    assert found, text
    return found.group(0)


@pytest.mark.parametrize("viewport", [None, TABLET], ids=["laptop", "tablet"])
def test_the_dealer_confirms_on_the_reply_page_and_finance_sees_it(
    page: Page, live_server: Any, viewport: dict | None
) -> None:
    if viewport:
        page.set_viewport_size(viewport)
    UserFactory(role="finance", username="fiona")
    today = business_today()
    dealer = overdue_dealer(code="RP01", name="Piensos del Campo Soria", days=30, today=today)
    letter = issue_reconciliation_letter(dealer=dealer, as_of=today, today=today, by=None)
    address = printed_reply_address(letter.pk)

    page.goto(address)
    expect(page.get_by_role("heading", name="Statement of account")).to_be_visible()
    expect(page.get_by_text("Piensos del Campo Soria")).to_be_visible()
    page.get_by_label("I confirm the balance").check()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", name="Thank you: your answer is recorded")).to_be_visible()

    page.goto(address)
    expect(
        page.get_by_role("heading", name="This statement has already been answered")
    ).to_be_visible()

    page.goto(live_server.url + "/login/")
    page.get_by_label("Username").fill("fiona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/print-room/letters/{letter.pk}/")
    expect(page.get_by_text("Confirmed").first).to_be_visible()
    expect(page.get_by_text("Reply page").first).to_be_visible()

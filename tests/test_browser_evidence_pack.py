"""A manager on the escalation queue downloads a request's evidence pack in Chromium, on a
laptop and on a tablet: the link is there on the request, and what comes down is the PDF
of that dealer and that request."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from dunning import services
from dunning.models import ContactLog, Escalation
from tests.factories import PASSWORD, DealerFactory, OrderFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SHOTS = "/tmp/evidence-pack"


@pytest.fixture
def requested(transactional_db: Any, settings: Any, tmp_path: Any) -> Escalation:
    """Carl's request to move Green Valley Feeds to hard collection, with a photo."""
    settings.MEDIA_ROOT = tmp_path / "media"
    today = services.business_today()
    carl = UserFactory(role="collector", username="carl")
    UserFactory(role="manager", username="mona")
    dealer = DealerFactory(code="FEED01", name="Green Valley Feeds", collector=carl)
    OrderFactory(
        dealer=dealer,
        ordered_on=today - dt.timedelta(days=75),
        due_on=today - dt.timedelta(days=45),
        amount=Decimal("12400.00"),
    )
    account = services.ensure_account(dealer)
    services.move_stage(account, "remind", on=today, by=None, reason="Past due")
    services.move_stage(account, "soften", on=today, by=None, reason="30 days past due")
    ContactLog.objects.create(
        dealer=dealer,
        channel=ContactLog.Channel.VISIT,
        at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2),
        outcome=ContactLog.Outcome.REFUSED,
        note="Stock is being moved out of the barn",
        logged_by=carl,
    )
    photo = ContentFile(b"a photo of the barn", name="barn-stock.jpg")
    return services.request_escalation(
        dealer=dealer,
        to_stage="hard",
        reason="Second broken promise; stock is moving out.",
        by=carl,
        today=today,
        evidence=[photo],
    )


def log_in(page: Page, base_url: str, path: str, username: str) -> None:
    page.goto(base_url + path)
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 800}, {"width": 768, "height": 1024}],
    ids=["1280px", "768px"],
)
def test_a_manager_downloads_the_evidence_pack_from_the_queue(
    page: Page, live_server: Any, requested: Escalation, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    log_in(page, live_server.url, "/escalations/", "mona")

    request = page.get_by_test_id("escalation")
    expect(request).to_have_count(1)
    link = request.get_by_role("link", name="Evidence pack (PDF)")
    expect(link).to_be_visible()
    # The link and the request it sits on fit the screen.
    for element in (link, request):
        box = element.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport["width"]
    page.screenshot(path=f"{SHOTS}-queue-{viewport['width']}.png", full_page=True)

    with page.expect_download() as info:
        link.click()
    download = info.value

    assert download.suggested_filename == f"evidence-pack-FEED01-escalation-{requested.pk}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Green Valley Feeds" in text
    assert "12,400.00" in text
    assert "Stock is being moved out of the barn" in text
    assert "barn-stock.jpg" in text

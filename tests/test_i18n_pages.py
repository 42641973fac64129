"""The worklist, the dealer list and the team desk speak Spanish and Chinese: every piece of
text the English page shows around the data (titles, headings, labels, buttons, the menu)
reads differently in the other two languages. Data (dealer names and codes, usernames,
currency codes, numbers) and words that are the same in Spanish are left out."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from receivables.models import Dealer, ExchangeRate
from tests.collection_helpers import NOW
from tests.test_page_query_counts import grow_book

# Text that is the same in both languages: names of the languages in the menu, acronyms,
# and words Spanish writes like English.
SAME_IN = {
    "es": {"Total", "Plan", "ERP", "PDF", "CSV", "API", "No", "Error"},
    "zh-hans": {"PDF", "CSV", "API", "ERP", "DSO", "CEI"},
}
LANGUAGE_NAMES = {"English", "Español", "简体中文"}
CURRENCIES = re.compile(r"\b[A-Z]{2,3}\b")  # and country codes
TIME_ZONES = re.compile(r"\b[A-Z][a-z]+/[A-Za-z_]+\b")
# Month abbreviations Spanish writes as English does (Feb, Mar, May, Jun, Jul, Sep...).
SAME_MONTHS = re.compile(r"\b(Feb|Mar|May|Jun|Jul|Sep|Oct|Nov)\b")
NUMBERS = re.compile("[-+]?[\\d.,%:\u2013#/]+")
PUNCTUATION = re.compile(
    "[\\s\u00b7\u2014\u2192\u25b2\u25bc\u2039\u203a\u2026()\\[\\],.:;!?\u201c\u201d\u00ab\u00bb\"'|*+-]+"
)


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the last request's language active in the test thread: put
    the default back, so that no later test renders in Spanish or Chinese by accident."""
    yield
    translation.deactivate()


class TextNodes(HTMLParser):
    """The text a reader sees: each text node outside <script>, <style> and <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.skipping = 0
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in {"script", "style", "svg"}:
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "svg"} and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text and not self.skipping:
            self.nodes.append(text)


def chrome(html: str, data: list[str]) -> set[str]:
    """The page's text nodes with the fixture's data taken out; only what has words left."""
    parser = TextNodes()
    parser.feed(html)
    found = set()
    for node in parser.nodes:
        text = node
        for value in sorted(data, key=len, reverse=True):
            text = text.replace(value, " ")
        text = TIME_ZONES.sub(" ", text)
        text = CURRENCIES.sub(" ", text)
        text = SAME_MONTHS.sub(" ", text)
        text = NUMBERS.sub(" ", text)
        text = PUNCTUATION.sub(" ", text).strip()
        if re.search(r"[A-Za-z]{2,}", text) and text not in LANGUAGE_NAMES:
            found.add(node)
    return found


def page(client: Client, url: str, language: str) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, (url, language, response.status_code)
    assert f'<html lang="{language}"' in response.content.decode()
    return response.content.decode()


@pytest.fixture
def book(collector: Any) -> Callable[[int], None]:
    """A book of dealers each with its whole story (orders, payments, promises, tasks,
    alerts, letters, escalations), as the query-count tests grow it."""
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))

    def grow(to: int) -> None:
        grow_book(to, collector=collector, requester=collector)

    return grow


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("collector", "/worklist/"),
        ("collector", "/dealers/"),
        ("manager", "/desk/"),
        ("finance", "/finance/"),
        ("finance", "/finance/payments/"),
        ("finance", "/print-room/"),
        ("finance", "/print-room/reconciliation/"),
        ("manager", "/reports/aging/"),
        ("collector", "/"),
        ("collector", "/dealers/{code}/"),
        ("collector", "/dealers/{code}/collection/"),
        ("collector", "/tasks/"),
    ],
)
@pytest.mark.parametrize("language", ["es", "zh-hans"])
def test_page_has_no_english_left(
    role: str,
    url: str,
    language: str,
    book: Callable[[int], None],
    request: Any,
) -> None:
    user = request.getfixturevalue(role)
    book(12)
    client = Client()
    client.force_login(user)
    data = [
        *Dealer.objects.values_list("name", flat=True),
        *Dealer.objects.values_list("code", flat=True),
        *get_user_model().objects.values_list("username", flat=True),
        "x",  # the tasks' and alerts' reason in the fixture
        "60 days",  # the escalation's reason in the fixture, as its requester wrote it
    ]

    # A dealer's own pages: the first dealer of the book, with its whole story.
    url = url.format(code=Dealer.objects.order_by("code").values_list("code", flat=True)[0])
    english = chrome(page(client, url, "en"), data)
    translated_page = page(client, url, language)
    translated = chrome(translated_page, data)

    assert len(english) > 15, english  # the comparison is about a real page
    left = sorted((english & translated) - SAME_IN[language])
    assert left == [], f"{url} in {language} still shows English: {left}"
    # The reader's number formats come with the language.
    if language == "es" and "1,000.00" in page(client, url, "en"):
        assert "1.000,00" in translated_page
        assert "1,000.00" not in translated_page

"""The auditor reads everything and changes nothing: every page of the URL resolver, opened
by an auditor, shows no form that posts (the header's log-out and language forms aside),
and every URL refuses the auditor's POST with 403 or 405.

The pages are found from the resolver, not listed by hand, so a new page is checked the
day it is added. Parameterised URLs get one dealer, letter, escalation, task, alert,
excuse, import job and payment made here. The Django admin and the JSON API (token
authentication, `tests/test_api_auth.py`) are outside: they are not pages of the app.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from dunning.models import (
    Alert,
    CollectionAccount,
    CollectionPolicy,
    Escalation,
    Excuse,
    Letter,
    Stage,
    Task,
)
from receivables.models import ImportJob, Payment
from tests.collection_helpers import TODAY, overdue_dealer
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db

# Not the app's pages: the login and the language switch are for everyone, and the reply
# page is the dealer's (no login, the token is the key).
OUTSIDE = {"login", "logout", "set_language", "reply"}
SKIPPED_PREFIXES = ("admin/", "api/")

# Offenders in pages other engineers own, reported to them: (what, URL name). This test
# fails when one is fixed (remove it here) as well as when a new one appears.
KNOWN_OFFENDERS: set[tuple[str, str]] = set()

POST_FORM = re.compile(r"<form\b[^>]*\bmethod\s*=\s*[\"']?post", re.IGNORECASE)


def _patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if not route.startswith(SKIPPED_PREFIXES):
                yield from _patterns(pattern.url_patterns, route)
        elif pattern.name not in OUTSIDE:
            yield route, pattern


@pytest.fixture
def book(manager: Any, collector: Any) -> dict[str, Any]:
    """One of everything a parameterised URL names (and the policy, which the first
    page to read it would otherwise create)."""
    CollectionPolicy.current()
    dealer = overdue_dealer(code="AUD1", collector=collector)
    CollectionAccount.objects.create(dealer=dealer, stage=Stage.SOFT)
    escalation = Escalation.objects.create(
        dealer=dealer,
        to_stage=Stage.HARD,
        reason="No payment after three calls",
        requested_by=collector,
        requested_on=TODAY,
    )
    letter = Letter.objects.create(
        dealer=dealer,
        kind=Letter.Kind.RECONCILIATION,
        issued_on=TODAY,
        cycle_started_on=TODAY,
        reply_token="auditor-test-token",
    )
    task = Task.objects.create(
        dealer=dealer, assignee=collector, kind=Task.Kind.CALL, due_on=TODAY, reason="Call"
    )
    alert = Alert.objects.create(dealer=dealer, kind=Alert.Kind.DEALER_EVENT, message="Fire")
    excuse = Excuse.objects.create(text="The cheque is in the post", counter_script="x", ask="y")
    job = ImportJob.objects.create(started_by=manager, created_at=timezone.now())
    payment: Payment = PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("5"))
    return {
        "code": dealer.code,
        "token": letter.reply_token,
        "pk": {
            "escalation": escalation.pk,
            "printroom": letter.pk,
            "task": task.pk,
            "alert": alert.pk,
            "team_excuse": excuse.pk,
            "finance_import": job.pk,
            "finance_payment": payment.pk,
        },
    }


def _url(route: str, name: str, book: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        converter, param = match.group(1), match.group(2)
        if param == "code":
            return str(book["code"])
        if param == "token":
            return str(book["token"])
        assert converter == "int", route
        for prefix, pk in book["pk"].items():
            if name.startswith(prefix):
                return str(pk)
        raise AssertionError(f"No object for {name} ({route})")

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)


def _writes() -> tuple[int, ...]:
    """How many history rows each tracked table holds, and the alerts acknowledged:
    any change by the auditor would add to one of them."""
    tracked = [
        model.history.count()  # type: ignore[attr-defined]
        for model in apps.get_models()
        if hasattr(model, "history") and hasattr(model.history, "model")
    ]
    return (*tracked, Alert.objects.filter(acknowledged_at__isnull=False).count())


def _main(html: str) -> str:
    start = html.find("<main")
    return html[start : html.find("</main>", start)] if start >= 0 else html


def test_auditor_sees_no_form_and_may_post_nothing(
    client: Client, auditor: Any, book: dict[str, Any]
) -> None:
    client.force_login(auditor)
    found: set[tuple[str, str]] = set()
    opened = 0
    before = _writes()
    for route, pattern in _patterns(get_resolver().url_patterns):
        name = str(pattern.name)
        url = _url(route, name, book)
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        content_type = response.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("text/html"):
            opened += 1
            if POST_FORM.search(_main(response.content.decode())):
                found.add(("form on page", name))
        posted = client.post(url, {})
        if posted.status_code not in (403, 405):
            found.add((f"POST answers {posted.status_code}", name))
    assert opened >= 15  # the pages did open: this is not a test of 404s
    assert _writes() == before
    assert found == KNOWN_OFFENDERS


def test_the_walk_covers_the_audit_and_alert_urls() -> None:
    names = {str(p.name) for _, p in _patterns(get_resolver().url_patterns)}
    assert {"dealer_history", "dealer_history_csv", "alert_list", "alert_acknowledge"} <= names
    assert {"dealer_detail", "collection", "printroom_post", "finance_payment_new"} <= names
    assert not names & OUTSIDE

"""Who sees which escalations is one rule (`Escalation.objects.visible_to`), the same on
the escalation page and through the API: a collector sees the requests they made, a
manager every escalation of the dealers they see."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from dunning.models import Escalation, Stage
from dunning.services import request_escalation
from receivables.models import ApiToken
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def escalations(collector: Any) -> dict[str, Escalation]:
    """Two escalations of carl's dealer: one he asked for, one the daily sweep proposed."""
    dealer = overdue_dealer(days=70, collector=collector, code="D-CARL")
    account_in(dealer, Stage.SOFT)
    return {
        "asked": request_escalation(
            dealer=dealer, to_stage="litigation", reason="Closure", by=collector, today=TODAY
        ),
        "proposed": request_escalation(
            dealer=dealer, to_stage="hard", reason="70 days", by=None, today=TODAY
        ),
    }


def api_ids(user: Any) -> set[int]:
    _, raw = ApiToken.issue(user)
    client = Client(headers={"authorization": f"Bearer {raw}"})
    return {e["id"] for e in client.get("/api/v1/escalations").json()}


def page_ids(user: Any) -> set[int]:
    client = Client()
    client.force_login(user)
    page = client.get("/escalations/?status=").context["escalations"]
    return {e.pk for e in page}


def test_a_collector_listing_escalations_through_the_api_sees_only_their_own(
    escalations: dict[str, Escalation], collector: Any
) -> None:
    assert api_ids(collector) == {escalations["asked"].pk}


def test_the_api_and_the_page_show_a_collector_the_same_escalations(
    escalations: dict[str, Escalation], collector: Any
) -> None:
    assert api_ids(collector) == page_ids(collector) == {escalations["asked"].pk}


def test_a_manager_sees_every_escalation_in_both(
    escalations: dict[str, Escalation], manager: Any
) -> None:
    everything = {e.pk for e in escalations.values()}
    assert api_ids(manager) == page_ids(manager) == everything

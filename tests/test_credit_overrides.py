"""Credit-hold overrides: the longest one the policy allows (the service and the
collection panel's form), ending one early (`end_credit_override`), and the managers'
page of running and recently ended overrides."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionAccount, CollectionPolicy, Stage
from dunning.services.errors import InvalidInput, WorkflowConflict
from dunning.services.stages import (
    OVERRIDE_ENDED,
    end_credit_override,
    override_credit_hold,
)
from receivables.models import Dealer
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import DealerFactory, UserFactory

URL = "/team/credit-overrides/"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def on_hold(code: str = "HOLD01", **fields: Any) -> Dealer:
    dealer = overdue_dealer(code=code, days=70, **fields)
    account_in(dealer, Stage.HARD)
    return dealer


def overridden(dealer: Dealer, *, until: dt.date, by: Any, reason: str = "Harvest cash") -> None:
    override_credit_hold(dealer=dealer, until=until, reason=reason, by=by, today=TODAY)


# The longest override


def test_an_override_may_last_the_policys_longest(manager: Any) -> None:
    dealer = on_hold()

    account = override_credit_hold(
        dealer=dealer,
        until=TODAY + dt.timedelta(days=90),
        reason="Harvest",
        by=manager,
        today=TODAY,
    )

    assert account.credit_hold_override_until == TODAY + dt.timedelta(days=90)


def test_a_longer_override_is_refused_with_the_last_day_allowed(manager: Any) -> None:
    dealer = on_hold()

    with pytest.raises(InvalidInput) as error:
        override_credit_hold(
            dealer=dealer,
            until=TODAY + dt.timedelta(days=91),
            reason="Harvest",
            by=manager,
            today=TODAY,
        )

    assert error.value.field == "until"
    assert error.value.message == (
        "An override lasts at most 90 days (the collection policy): until 2026-05-31 at the latest."
    )
    assert not CollectionAccount.objects.get(dealer=dealer).credit_hold_override_until


def test_the_longest_override_follows_the_policy(manager: Any) -> None:
    CollectionPolicy.objects.filter(pk=CollectionPolicy.current().pk).update(
        credit_override_max_days=30
    )

    with pytest.raises(InvalidInput, match="at most 30 days"):
        override_credit_hold(
            dealer=on_hold(),
            until=TODAY + dt.timedelta(days=31),
            reason="Harvest",
            by=manager,
            today=TODAY,
        )


def test_the_collection_panel_shows_the_limit_next_to_the_date(
    client: Client, manager: Any
) -> None:
    on_hold(code="FEED01")
    client.force_login(manager)

    response = client.post(
        "/dealers/FEED01/collection/credit-override/",
        {"override-until": "2026-07-01", "override-reason": "Harvest money due"},
    )

    assert response.status_code == 400
    assert response.context["override_form"].errors["until"] == [
        "An override lasts at most 90 days (the collection policy): until 2026-05-31 at the latest."
    ]
    assert "until 2026-05-31 at the latest" in response.content.decode()
    assert not CollectionAccount.objects.filter(credit_hold_override_until__isnull=False).exists()


# Ending one early


def test_ending_an_override_puts_the_hold_back_from_today(manager: Any) -> None:
    dealer = on_hold()
    overridden(dealer, until=TODAY + dt.timedelta(days=20), by=manager)
    other_manager = UserFactory(role="manager", username="max")

    account = end_credit_override(
        dealer=dealer, by=other_manager, today=TODAY, reason="Cheque bounced"
    )

    assert account.credit_hold_override_until == TODAY - dt.timedelta(days=1)
    assert not account.credit_hold_overridden(TODAY)
    # Who granted it and why stay on the account; who ended it is in its history.
    account.refresh_from_db()
    assert account.credit_hold_override_by == manager
    assert account.credit_hold_override_reason == "Harvest cash"
    record = account.history.order_by("-history_id").first()
    assert record.history_user == other_manager
    assert record.history_change_reason == f"{OVERRIDE_ENDED}: Cheque bounced"


def test_there_is_nothing_to_end_without_a_running_override(manager: Any) -> None:
    never = on_hold(code="HOLD01")
    ran_out = on_hold(code="HOLD02")
    CollectionAccount.objects.filter(dealer=ran_out).update(
        credit_hold_override_until=TODAY - dt.timedelta(days=3)
    )
    no_account = DealerFactory(code="HOLD03")

    for dealer in (never, ran_out, no_account):
        with pytest.raises(WorkflowConflict, match="nothing to end"):
            end_credit_override(dealer=dealer, by=manager, today=TODAY, reason="x")
    assert not CollectionAccount.objects.filter(dealer=no_account).exists()


def test_ending_needs_a_reason(manager: Any) -> None:
    dealer = on_hold()
    overridden(dealer, until=TODAY, by=manager)

    with pytest.raises(InvalidInput) as error:
        end_credit_override(dealer=dealer, by=manager, today=TODAY, reason=" ")

    assert error.value.field == "reason"
    assert CollectionAccount.objects.get(dealer=dealer).credit_hold_overridden(TODAY)


@pytest.mark.parametrize("role", ["collector", "finance", "auditor"])
def test_only_a_manager_ends_an_override(role: str, manager: Any, request: Any) -> None:
    dealer = on_hold()
    overridden(dealer, until=TODAY, by=manager)

    with pytest.raises(PermissionDenied):
        end_credit_override(
            dealer=dealer, by=request.getfixturevalue(role), today=TODAY, reason="x"
        )


# The page


@pytest.fixture
def overrides(manager: Any) -> dict[str, Dealer]:
    """Running until today and for a fortnight, ended two days and forty days ago."""
    dealers = {
        "today": on_hold(code="RUN01", name="Last Day Feeds"),
        "fortnight": on_hold(code="RUN02", name="Fortnight Farm"),
        "recent": on_hold(code="END01", name="Recently Ended"),
        "old": on_hold(code="END02", name="Long Ago"),
    }
    overridden(dealers["today"], until=TODAY, by=manager, reason="Pays Friday")
    overridden(
        dealers["fortnight"], until=TODAY + dt.timedelta(days=14), by=manager, reason="Harvest"
    )
    for key, days in (("recent", 2), ("old", 40)):
        CollectionAccount.objects.filter(dealer=dealers[key]).update(
            credit_hold_override_until=TODAY - dt.timedelta(days=days),
            credit_hold_override_by=manager,
            credit_hold_override_reason="Old arrangement",
        )
    return dealers


def codes(response: Any, key: str) -> list[str]:
    return [row.account.dealer.code for row in response.context[key]]


@pytest.mark.parametrize("role", ["collector", "finance", "agency_user"])
def test_other_roles_get_the_403_page(role: str, client: Client, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))

    assert client.get(URL).status_code == 403


def test_the_page_lists_running_and_recently_ended_overrides(
    client: Client, manager: Any, overrides: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.get(URL)

    assert response.status_code == 200
    assert codes(response, "running") == ["RUN01", "RUN02"]
    assert codes(response, "ended") == ["END01"]
    body = response.content.decode()
    for words in (
        "Pays Friday",
        "Harvest",
        "mona",
        "Hard collection",
        "15 days left",
        "1 day left",
    ):
        assert words in body
    assert body.count("End override now") == 2
    assert "Ran to its date" in body
    assert "Long Ago" not in body


def test_an_auditor_reads_the_overrides_without_the_end_buttons(
    client: Client, auditor: Any, overrides: dict[str, Dealer]
) -> None:
    client.force_login(auditor)

    response = client.get(URL)

    assert codes(response, "running") == ["RUN01", "RUN02"]
    assert "End override now" not in response.content.decode()
    refused = client.post(f"{URL}RUN01/end/", {"reason": "x"})
    assert refused.status_code == 403
    assert CollectionAccount.objects.get(dealer=overrides["today"]).credit_hold_overridden(TODAY)


def test_manager_ends_an_override_from_the_page(
    client: Client, manager: Any, overrides: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.post(f"{URL}RUN02/end/", {"reason": "Cheque bounced"}, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "The credit-hold override of RUN02 Fortnight Farm ended: "
        "the hold applies again from today, 2 March 2026."
    ]
    assert codes(response, "running") == ["RUN01"]
    assert codes(response, "ended") == ["RUN02", "END01"]
    ended = response.context["ended"][0].account
    assert (ended.ended_by, ended.ended_reason) == ("mona", "Cheque bounced")
    body = response.content.decode()
    assert "Early, by mona on" in body
    assert "Cheque bounced" in body


def test_ending_without_a_reason_is_an_error_on_its_row(
    client: Client, manager: Any, overrides: dict[str, Dealer]
) -> None:
    client.force_login(manager)

    response = client.post(f"{URL}RUN02/end/", {"reason": "  "})

    assert response.status_code == 400
    (row,) = [row for row in response.context["running"] if row.error]
    assert row.account.dealer.code == "RUN02"
    assert "Say why the override ends early." in response.content.decode()
    assert CollectionAccount.objects.get(dealer=overrides["fortnight"]).credit_hold_overridden(
        TODAY
    )


def test_ending_an_override_somebody_ended_first_is_a_message(
    client: Client, manager: Any, overrides: dict[str, Dealer]
) -> None:
    client.force_login(manager)
    end_credit_override(dealer=overrides["today"], by=manager, today=TODAY, reason="First")

    response = client.post(f"{URL}RUN01/end/", {"reason": "Second"}, follow=True)

    assert "is not overridden today: there is nothing to end" in " ".join(
        str(m) for m in response.context["messages"]
    )


def test_an_unknown_dealer_is_not_found(client: Client, manager: Any) -> None:
    client.force_login(manager)
    assert client.post(f"{URL}NOPE/end/", {"reason": "x"}).status_code == 404


def test_the_page_costs_the_same_queries_for_10_and_200_overrides(
    client: Client, manager: Any
) -> None:
    client.force_login(manager)

    def grow(to: int) -> None:
        start = Dealer.objects.count()
        dealers = Dealer.objects.bulk_create(
            [Dealer(code=f"OV{n:04d}", name=f"Dealer {n}") for n in range(start, to)]
        )
        CollectionAccount.objects.bulk_create(
            [
                CollectionAccount(
                    dealer=dealer,
                    stage=Stage.HARD,
                    credit_hold_override_until=TODAY + dt.timedelta(days=(n * 7) % 40 - 20),
                    credit_hold_override_by=manager,
                    credit_hold_override_reason="Harvest",
                )
                for n, dealer in enumerate(dealers)
            ]
        )
        for dealer in dealers[:3]:
            if CollectionAccount.objects.get(dealer=dealer).credit_hold_overridden(TODAY):
                end_credit_override(dealer=dealer, by=manager, today=TODAY, reason="Ended")

    def queries(url: str) -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    urls = [URL, f"{URL}?page=2&ended=2"]
    grow(10)
    small = {url: queries(url) for url in urls}
    grow(200)
    large = {url: queries(url) for url in urls}

    assert large == small

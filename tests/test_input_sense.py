"""Input that makes no sense is refused with a reason (issue 10, part C), in the services so
that the API (400 naming the field) and the collection panel (the error next to the
field) agree, and nothing is written: a promise above the dealer's open balance or more
than a year ahead, an installment plan adding up to more than the balance, a contact in
the future or before the dealer's first order, and an outcome "promise to pay" without
its promise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dunning.models import ContactLog, InstallmentPlan, Promise
from dunning.services import InvalidInput, log_contact, make_installment_plan, make_promise
from receivables.models import ApiToken
from tests.collection_helpers import NOW, TODAY
from tests.factories import DealerFactory, OrderFactory

pytestmark = pytest.mark.django_db

FIRST_ORDER_ON = dt.date(2026, 1, 5)


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 2 March 2026, 15:30 in Berlin


@pytest.fixture
def dealer(collector: Any) -> Any:
    """Owes 1,500.00 on TODAY: two orders, the first on 5 January."""
    dealer = DealerFactory(code="SENSE1", country="DE", collector=collector)
    OrderFactory(dealer=dealer, ordered_on=FIRST_ORDER_ON, amount=Decimal("1000.00"))
    OrderFactory(dealer=dealer, ordered_on=dt.date(2026, 2, 10), amount=Decimal("500.00"))
    return dealer


def _promise(dealer: Any, by: Any, amount: str, due_on: dt.date = TODAY) -> Promise:
    return make_promise(dealer=dealer, amount=Decimal(amount), due_on=due_on, by=by, today=TODAY)


# --- Promises -------------------------------------------------------------------------------


def test_a_promise_of_the_whole_balance_is_accepted(dealer: Any, collector: Any) -> None:
    assert _promise(dealer, collector, "1500.00").amount == Decimal("1500.00")


def test_a_promise_above_the_open_balance_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        _promise(dealer, collector, "1500.01")

    assert error.value.field == "amount"
    assert "more than the dealer owes (1,500.00 EUR open today)" in str(error.value.message)
    assert not Promise.objects.exists()


def test_a_dealer_who_owes_nothing_cannot_promise(collector: Any) -> None:
    dealer = DealerFactory(collector=collector)
    with pytest.raises(InvalidInput) as error:
        _promise(dealer, collector, "1.00")
    assert error.value.field == "amount"


def test_a_promise_up_to_a_year_ahead_is_accepted(dealer: Any, collector: Any) -> None:
    year_ahead = dt.date(2027, 3, 2)  # a Tuesday
    assert _promise(dealer, collector, "100.00", year_ahead).due_on == year_ahead


def test_a_promise_more_than_a_year_ahead_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        _promise(dealer, collector, "100.00", dt.date(2027, 3, 3))

    assert error.value.field == "due_on"
    assert "more than a year ahead (at the latest 2027-03-02)" in str(error.value.message)
    assert not Promise.objects.exists()


def test_a_plan_adding_up_to_more_than_the_balance_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        make_installment_plan(
            dealer=dealer,
            installments=[
                (Decimal("800.00"), dt.date(2026, 3, 31)),
                (Decimal("800.00"), dt.date(2026, 4, 30)),
            ],
            by=collector,
            today=TODAY,
        )

    assert error.value.field == "installments"
    assert "1,600.00 EUR is more than the dealer owes" in str(error.value.message)
    assert not InstallmentPlan.objects.exists()
    assert not Promise.objects.exists()


def test_a_plan_of_the_whole_balance_is_accepted(dealer: Any, collector: Any) -> None:
    plan = make_installment_plan(
        dealer=dealer,
        installments=[
            (Decimal("750.00"), dt.date(2026, 3, 31)),
            (Decimal("750.00"), dt.date(2026, 4, 30)),
        ],
        by=collector,
        today=TODAY,
    )
    assert plan.promises.count() == 2


def test_a_plan_installment_more_than_a_year_ahead_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        make_installment_plan(
            dealer=dealer,
            installments=[
                (Decimal("100.00"), dt.date(2026, 3, 31)),
                (Decimal("100.00"), dt.date(2027, 6, 1)),
            ],
            by=collector,
            today=TODAY,
        )
    assert error.value.field == "installments.1.due_on"
    assert not InstallmentPlan.objects.exists()


# --- Contacts -------------------------------------------------------------------------------


def _contact(dealer: Any, by: Any, *, at: dt.datetime = NOW, **kw: Any) -> ContactLog:
    return log_contact(
        dealer=dealer,
        channel=kw.pop("channel", ContactLog.Channel.PHONE),
        at=at,
        outcome=kw.pop("outcome", ContactLog.Outcome.REACHED),
        by=by,
        now=NOW,
        **kw,
    )


def test_a_contact_in_the_future_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        _contact(dealer, collector, at=NOW + dt.timedelta(minutes=1))
    assert error.value.field == "at"
    assert not ContactLog.objects.exists()


def test_a_contact_before_the_first_order_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        _contact(dealer, collector, at=dt.datetime(2026, 1, 4, 10, 0, tzinfo=dt.UTC))

    assert error.value.field == "at"
    assert "before the dealer's first order (2026-01-05)" in str(error.value.message)
    assert not ContactLog.objects.exists()


def test_a_contact_on_the_day_of_the_first_order_is_accepted(dealer: Any, collector: Any) -> None:
    contact = _contact(dealer, collector, at=dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC))
    assert contact.pk is not None


def test_an_outcome_promise_without_a_promise_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        _contact(dealer, collector, outcome=ContactLog.Outcome.PROMISE)

    assert error.value.field == "outcome"
    assert "record the date and the amount under Promises first" in str(error.value.message)
    assert not ContactLog.objects.exists()


def test_an_outcome_promise_takes_the_promise_recorded_that_day(
    dealer: Any, collector: Any
) -> None:
    made = _promise(dealer, collector, "300.00", dt.date(2026, 3, 20))

    contact = _contact(dealer, collector, outcome=ContactLog.Outcome.PROMISE)

    assert contact.promise == made


def test_an_outcome_promise_with_its_promise_is_accepted(dealer: Any, collector: Any) -> None:
    made = _promise(dealer, collector, "300.00", dt.date(2026, 3, 20))
    contact = _contact(dealer, collector, outcome=ContactLog.Outcome.PROMISE, promise=made)
    assert contact.promise == made


# --- The API and the panel say the same ----------------------------------------------------


def _api(user: Any) -> Client:
    _, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


def _errors(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    return {error["field"]: error["message"] for error in response.json()["errors"]}


def test_the_api_answers_400_naming_the_field(dealer: Any, collector: Any) -> None:
    client = _api(collector)
    url = "/api/v1/dealers/SENSE1"

    too_much = client.post(
        f"{url}/promises",
        {"amount": "2000.00", "due_on": "2026-03-20"},
        content_type="application/json",
    )
    too_far = client.post(
        f"{url}/promises",
        {"amount": "100.00", "due_on": "2027-04-01"},
        content_type="application/json",
    )
    no_promise = client.post(
        f"{url}/contacts",
        {"channel": "phone", "outcome": "promise"},
        content_type="application/json",
    )
    too_early = client.post(
        f"{url}/contacts",
        {"channel": "phone", "outcome": "reached", "at": "2025-12-01T10:00:00+01:00"},
        content_type="application/json",
    )

    assert "more than the dealer owes" in _errors(too_much)["amount"]
    assert "more than a year ahead" in _errors(too_far)["due_on"]
    assert "needs its promise" in _errors(no_promise)["outcome"]
    assert "first order" in _errors(too_early)["at"]
    assert not Promise.objects.exists()
    assert not ContactLog.objects.exists()


def test_the_panel_shows_the_reason_next_to_the_field(
    client: Client, dealer: Any, collector: Any
) -> None:
    client.force_login(collector)

    response = client.post(
        "/dealers/SENSE1/collection/promise/",
        {"promise-amount": "2000.00", "promise-due_on": "2026-03-20", "promise-note": ""},
    )

    assert response.status_code == 400
    [error] = response.context["promise_form"].errors["amount"]
    assert "more than the dealer owes (1,500.00 EUR open today)" in error
    assert not Promise.objects.exists()

    contact = client.post(
        "/dealers/SENSE1/collection/contact/",
        {
            "contact-channel": "phone",
            "contact-outcome": "promise",
            "contact-at": "2026-03-02T15:00",
            "contact-note": "",
        },
    )
    assert contact.status_code == 400
    assert "needs its promise" in contact.context["contact_form"].errors["outcome"][0]
    assert not ContactLog.objects.exists()

"""Promises to pay and installment plans: a date on a weekend or a public holiday of the
dealer's country moves to the next business day (both kept), month-end and daylight
saving change nothing about that, and the promise-reliability figure."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from dunning.models import InstallmentPlan, Promise
from dunning.services import (
    InvalidInput,
    PermissionDenied,
    business_today,
    make_installment_plan,
    make_promise,
    promise_reliability,
)
from tests.collection_helpers import TODAY
from tests.factories import DealerFactory, OrderFactory


def owing(dealer: Any) -> Any:
    """The dealer with an order open, so that it owes more than the promises below
    (a promise above the open balance is refused)."""
    OrderFactory(dealer=dealer, amount=Decimal("5000.00"))
    return dealer


@pytest.fixture
def dealer(collector: Any) -> Any:
    return owing(DealerFactory(country="DE", collector=collector))


def promise(dealer: Any, by: Any, due_on: dt.date, amount: str = "500.00", **kw: Any) -> Promise:
    return make_promise(
        dealer=dealer,
        amount=Decimal(amount),
        due_on=due_on,
        by=by,
        today=kw.pop("today", TODAY),
        **kw,
    )


# --- Dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "falls_due"),
    [
        pytest.param(dt.date(2026, 3, 4), dt.date(2026, 3, 4), id="weekday stays"),
        pytest.param(dt.date(2026, 3, 7), dt.date(2026, 3, 9), id="saturday to monday"),
        pytest.param(dt.date(2026, 3, 8), dt.date(2026, 3, 9), id="sunday to monday"),
        pytest.param(dt.date(2026, 5, 1), dt.date(2026, 5, 4), id="labour day friday"),
        pytest.param(dt.date(2026, 12, 25), dt.date(2026, 12, 28), id="christmas and weekend"),
        pytest.param(dt.date(2026, 4, 3), dt.date(2026, 4, 7), id="good friday to tuesday"),
        pytest.param(dt.date(2026, 2, 28), dt.date(2026, 3, 2), id="month-end saturday"),
        pytest.param(dt.date(2026, 5, 31), dt.date(2026, 6, 1), id="month-end sunday"),
        pytest.param(dt.date(2026, 12, 31), dt.date(2026, 12, 31), id="year-end thursday"),
        pytest.param(dt.date(2026, 3, 29), dt.date(2026, 3, 30), id="clocks go forward"),
        pytest.param(dt.date(2026, 10, 25), dt.date(2026, 10, 26), id="clocks go back"),
    ],
)
def test_promise_falls_due_on_the_next_business_day(
    asked: dt.date, falls_due: dt.date, dealer: Any, collector: Any
) -> None:
    made = promise(dealer, collector, asked, today=dt.date(2026, 2, 23))

    made.refresh_from_db()
    assert made.requested_due_on == asked
    assert made.due_on == falls_due
    assert made.was_moved == (asked != falls_due)


def test_the_holidays_are_those_of_the_dealers_country(collector: Any) -> None:
    bastille_day = dt.date(2026, 7, 14)  # a Tuesday
    french = owing(DealerFactory(country="FR", collector=collector))
    german = owing(DealerFactory(country="DE", collector=collector))

    assert promise(french, collector, bastille_day).due_on == dt.date(2026, 7, 15)
    assert promise(german, collector, bastille_day).due_on == bastille_day


def test_a_country_without_a_holiday_calendar_only_skips_weekends(collector: Any) -> None:
    dealer = owing(DealerFactory(country="XK", collector=collector))

    assert promise(dealer, collector, dt.date(2026, 3, 7)).due_on == dt.date(2026, 3, 9)


def test_a_promise_made_today_for_today_is_accepted(dealer: Any, collector: Any) -> None:
    made = promise(dealer, collector, TODAY)

    assert (made.made_on, made.due_on, made.status) == (TODAY, TODAY, Promise.Status.OPEN)
    assert made.made_by == collector


def test_a_promise_for_yesterday_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        promise(dealer, collector, TODAY - dt.timedelta(days=1))

    assert error.value.field == "due_on"
    assert "in the past" in error.value.message
    assert not Promise.objects.exists()


def test_business_today_follows_berlin_across_the_spring_change(
    dealer: Any, collector: Any, time_machine: Any
) -> None:
    # 22:30 UTC on Saturday 28 March is already 00:30 on Sunday in Berlin (CET, +1).
    time_machine.move_to(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), tick=False)
    today = business_today()
    assert today == dt.date(2026, 3, 29)

    made = promise(dealer, collector, today, today=today)

    assert (made.made_on, made.due_on) == (dt.date(2026, 3, 29), dt.date(2026, 3, 30))
    with pytest.raises(InvalidInput):
        promise(dealer, collector, dt.date(2026, 3, 28), today=today)


def test_business_today_follows_berlin_across_the_autumn_change(time_machine: Any) -> None:
    # 22:30 UTC on 24 October is 00:30 on 25 October in Berlin (CEST, +2) ...
    time_machine.move_to(dt.datetime(2026, 10, 24, 22, 30, tzinfo=dt.UTC), tick=False)
    assert business_today() == dt.date(2026, 10, 25)
    # ... and after the clocks went back (CET, +1), 22:30 UTC is 23:30, still the 25th,
    # while 23:00 UTC is midnight, the 26th.
    time_machine.move_to(dt.datetime(2026, 10, 25, 22, 30, tzinfo=dt.UTC), tick=False)
    assert business_today() == dt.date(2026, 10, 25)
    time_machine.move_to(dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC), tick=False)
    assert business_today() == dt.date(2026, 10, 26)


# --- Amounts and roles ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "must be more than 0"),
        ("-10.00", "must be more than 0"),
        ("10.005", "has more than 2 decimals"),
        ("1000000000000.00", "too large"),
        ("NaN", "is not a finite number"),
        ("ten", "not an amount"),
    ],
)
def test_bad_amounts_are_refused(amount: str, message: str, dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match=message) as error:
        make_promise(dealer=dealer, amount=amount, due_on=TODAY, by=collector, today=TODAY)  # type: ignore[arg-type]

    assert error.value.field == "amount"


def test_amount_is_kept_to_the_cent(dealer: Any, collector: Any) -> None:
    made = promise(dealer, collector, TODAY, amount="1234.5")

    made.refresh_from_db()
    assert made.amount == Decimal("1234.50")


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_roles_without_the_right_cannot_record_promises(
    role: str, dealer: Any, request: Any
) -> None:
    with pytest.raises(PermissionDenied):
        promise(dealer, request.getfixturevalue(role), TODAY)


def test_manager_may_record_a_promise(dealer: Any, manager: Any) -> None:
    assert promise(dealer, manager, TODAY).made_by == manager


def test_history_records_who_made_the_promise(dealer: Any, collector: Any) -> None:
    made = promise(dealer, collector, TODAY)

    assert made.history.get().history_user == collector


# --- Installment plans ----------------------------------------------------------------------


def test_installment_plan_is_a_series_of_promises(dealer: Any, collector: Any) -> None:
    plan = make_installment_plan(
        dealer=dealer,
        installments=[
            (Decimal("300.00"), dt.date(2026, 4, 30)),
            (Decimal("300.00"), dt.date(2026, 3, 31)),
            (Decimal("400.00"), dt.date(2026, 5, 31)),  # a Sunday
        ],
        note="After the harvest",
        by=collector,
        today=TODAY,
    )

    promises = list(plan.promises.order_by("due_on"))
    assert [p.due_on for p in promises] == [
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 6, 1),
    ]
    assert [p.note for p in promises] == [
        "Installment 1 of 3",
        "Installment 2 of 3",
        "Installment 3 of 3",
    ]
    assert sum(p.amount for p in promises) == Decimal("1000.00")
    assert (plan.made_on, plan.made_by, plan.note) == (TODAY, collector, "After the harvest")


def test_a_plan_needs_two_installments(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match="at least two") as error:
        make_installment_plan(
            dealer=dealer,
            installments=[(Decimal("100.00"), TODAY)],
            by=collector,
            today=TODAY,
        )

    assert error.value.field == "installments"


def test_one_bad_installment_refuses_the_whole_plan(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        make_installment_plan(
            dealer=dealer,
            installments=[
                (Decimal("100.00"), dt.date(2026, 3, 10)),
                (Decimal("0.00"), dt.date(2026, 3, 20)),
            ],
            by=collector,
            today=TODAY,
        )

    assert error.value.field == "installments.1.amount"
    assert not InstallmentPlan.objects.exists()
    assert not Promise.objects.exists()


def test_two_installments_on_the_same_business_day_are_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match="like installment 1") as error:
        make_installment_plan(
            dealer=dealer,
            installments=[
                (Decimal("100.00"), dt.date(2026, 3, 7)),  # Saturday
                (Decimal("100.00"), dt.date(2026, 3, 8)),  # Sunday: both Monday 9 March
            ],
            by=collector,
            today=TODAY,
        )

    assert error.value.field == "installments.1.due_on"


# --- Reliability ----------------------------------------------------------------------------


def _decided(dealer: Any, status: str, due_on: dt.date) -> Promise:
    return Promise.objects.create(
        dealer=dealer,
        amount=Decimal("100.00"),
        requested_due_on=due_on,
        due_on=due_on,
        made_on=due_on - dt.timedelta(days=5),
        status=status,
    )


def test_reliability_is_none_without_decided_promises(dealer: Any, collector: Any) -> None:
    promise(dealer, collector, TODAY + dt.timedelta(days=3))  # still open

    assert promise_reliability(dealer, today=TODAY) is None


def test_reliability_counts_partly_kept_as_not_kept(dealer: Any) -> None:
    _decided(dealer, Promise.Status.KEPT, dt.date(2026, 1, 15))
    _decided(dealer, Promise.Status.KEPT, dt.date(2026, 2, 15))
    _decided(dealer, Promise.Status.PARTLY_KEPT, dt.date(2026, 2, 20))
    _decided(dealer, Promise.Status.BROKEN, dt.date(2026, 2, 25))

    assert promise_reliability(dealer, today=TODAY) == Decimal("50.00")


def test_reliability_rounds_to_two_decimals(dealer: Any) -> None:
    _decided(dealer, Promise.Status.KEPT, dt.date(2026, 1, 15))
    _decided(dealer, Promise.Status.BROKEN, dt.date(2026, 2, 15))
    _decided(dealer, Promise.Status.BROKEN, dt.date(2026, 2, 20))

    assert promise_reliability(dealer, today=TODAY) == Decimal("33.33")


def test_reliability_looks_back_twelve_months(dealer: Any) -> None:
    _decided(dealer, Promise.Status.BROKEN, dt.date(2025, 3, 2))  # a year ago: out
    _decided(dealer, Promise.Status.KEPT, dt.date(2025, 3, 3))  # in

    assert promise_reliability(dealer, today=TODAY) == Decimal("100.00")


def test_reliability_is_per_dealer(dealer: Any) -> None:
    _decided(dealer, Promise.Status.KEPT, dt.date(2026, 2, 15))
    _decided(DealerFactory(), Promise.Status.BROKEN, dt.date(2026, 2, 15))

    assert promise_reliability(dealer, today=TODAY) == Decimal("100.00")

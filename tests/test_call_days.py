"""Suggested call days ("Timing", docs/PRACTICE.md §9; issue 10, part C): besides the daily
window, the days a dealer most likely has cash: around month-end (the last 3 business
days of a month and the first 2 of it), and when it has probably sold 80% of its last
delivery, by its own rhythm of reorders. The rules are pure (`dunning.calendar`); the
worklist reads the order days of its page in one query and shows why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from dunning.calendar import (
    CASH_DAY_BUSINESS_DAYS,
    MONTH_END_LAST_BUSINESS_DAYS,
    MONTH_START_FIRST_BUSINESS_DAYS,
    RHYTHM_MIN_ORDERS,
    ReorderRhythm,
    call_day,
    is_business_day,
    is_month_end_cash_day,
    is_sold_through_day,
    reorder_rhythm,
)
from tests.factories import DealerFactory, OrderFactory

D = dt.date
days_2026 = st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31))
countries = st.sampled_from(["DE", "FR", "CZ", "GB", "XK"])


# --- Month-end ------------------------------------------------------------------------------


def test_month_end_in_germany_around_easter_and_may_day() -> None:
    # April 2026 in Germany: Thu 30 Apr, Wed 29, Tue 28 are its last business days;
    # 1 May is Labour Day, so May starts on Mon 4 and Tue 5.
    good = {D(2026, 4, 28), D(2026, 4, 29), D(2026, 4, 30), D(2026, 5, 4), D(2026, 5, 5)}
    april_may = [D(2026, 4, 20) + dt.timedelta(days=n) for n in range(20)]
    assert {day for day in april_may if is_month_end_cash_day("DE", day)} == good


@given(country=countries, day=days_2026)
def test_a_month_has_exactly_the_named_month_end_days(country: str, day: dt.date) -> None:
    first = day.replace(day=1)
    month = [first + dt.timedelta(days=n) for n in range(31)]
    month = [d for d in month if d.month == first.month]
    marked = [d for d in month if is_month_end_cash_day(country, d)]
    business = [d for d in month if is_business_day(country, d)]

    assert all(is_business_day(country, d) for d in marked)
    assert len(marked) == MONTH_END_LAST_BUSINESS_DAYS + MONTH_START_FIRST_BUSINESS_DAYS
    assert marked == (
        business[:MONTH_START_FIRST_BUSINESS_DAYS] + business[-MONTH_END_LAST_BUSINESS_DAYS:]
    )


# --- Rhythm of reorders ---------------------------------------------------------------------


def test_rhythm_is_the_median_gap_of_distinct_order_days() -> None:
    days = [D(2026, 10, 1), D(2026, 10, 15), D(2026, 10, 15), D(2026, 11, 2), D(2026, 10, 26)]
    # Gaps 14, 11, 7: median 11; the repeated day counts once.
    assert reorder_rhythm(days) == ReorderRhythm(last_order_on=D(2026, 11, 2), median_days=11.0)


def test_an_even_number_of_gaps_takes_the_middle_two() -> None:
    days = [D(2026, 1, 1), D(2026, 1, 11), D(2026, 1, 31), D(2026, 2, 4), D(2026, 3, 6)]
    # Gaps 10, 20, 4, 30: median (10 + 20) / 2.
    assert reorder_rhythm(days) == ReorderRhythm(last_order_on=D(2026, 3, 6), median_days=15.0)


def test_fewer_than_three_order_days_give_no_rhythm() -> None:
    assert RHYTHM_MIN_ORDERS == 3
    assert reorder_rhythm([]) is None
    assert reorder_rhythm([D(2026, 1, 1), D(2026, 2, 1), D(2026, 2, 1)]) is None


def test_the_cash_day_is_80_percent_of_the_rhythm_after_the_last_order() -> None:
    rhythm = ReorderRhythm(last_order_on=D(2026, 11, 2), median_days=18.0)
    # 0.8 x 18 = 14.4 days, rounded: Mon 16 Nov.
    assert rhythm.cash_day == D(2026, 11, 16)


@given(
    days=st.lists(days_2026, min_size=RHYTHM_MIN_ORDERS, max_size=30, unique=True),
    country=countries,
)
def test_rhythm_properties(days: list[dt.date], country: str) -> None:
    rhythm = reorder_rhythm(days)
    assert rhythm is not None
    gaps = sorted((b - a).days for a, b in pairwise(sorted(days)))
    assert rhythm.last_order_on == max(days)
    assert gaps[0] <= rhythm.median_days <= gaps[-1]
    assert (
        rhythm.last_order_on
        <= rhythm.cash_day
        <= rhythm.last_order_on + dt.timedelta(days=gaps[-1])
    )
    # Exactly CASH_DAY_BUSINESS_DAYS business days from the cash day on are good, all
    # of them business days, none before the cash day.
    window = [rhythm.cash_day + dt.timedelta(days=n) for n in range(-3, 20)]
    good = [d for d in window if is_sold_through_day(country, d, rhythm)]
    assert len(good) == CASH_DAY_BUSINESS_DAYS
    assert all(is_business_day(country, d) and d >= rhythm.cash_day for d in good)


def test_call_day_names_both_reasons() -> None:
    rhythm = ReorderRhythm(last_order_on=D(2026, 4, 12), median_days=20.0)  # cash day 28 Apr
    both = call_day("DE", D(2026, 4, 28), rhythm)
    assert (both.good, both.month_end, both.rhythm) == (True, True, rhythm)
    plain = call_day("DE", D(2026, 4, 15), rhythm)
    assert (plain.good, plain.month_end, plain.rhythm) == (False, False, None)
    assert call_day("DE", D(2026, 4, 28), None).rhythm is None


# --- On the worklist ------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 16, 9, 0, tzinfo=dt.UTC)  # Mon 16 Nov 2026, 10:00 in Berlin


@pytest.fixture
def on_monday(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def _dealer_ordering_on(code: str, collector: Any, days: list[dt.date]) -> Any:
    dealer = DealerFactory(code=code, country="DE", collector=collector)
    for day in days:
        # Each order due in 10 days: all but the latest are past due on 16 Nov.
        OrderFactory(
            dealer=dealer, ordered_on=day, due_on=day + dt.timedelta(days=10), amount=Decimal(100)
        )
    return dealer


@pytest.mark.django_db
@pytest.mark.usefixtures("on_monday")
def test_worklist_says_why_today_is_a_good_day(client: Client, collector: Any) -> None:
    # Reorders every 18 days, last on 2 Nov: 80% sold by 16 Nov (today).
    _dealer_ordering_on(
        "RHYTHM",
        collector,
        [D(2026, 9, 10), D(2026, 9, 28), D(2026, 10, 16), D(2026, 11, 2)],
    )
    # Reorders every 30 days, last on 15 Oct: its cash day was Sun 8 Nov, so its good
    # days were Mon 9 and Tue 10, not today (16 Nov is not month-end either).
    _dealer_ordering_on("OTHER", collector, [D(2026, 8, 16), D(2026, 9, 15), D(2026, 10, 15)])
    # Two orders only: no rhythm.
    _dealer_ordering_on("FEW", collector, [D(2026, 10, 1), D(2026, 10, 19)])
    client.force_login(collector)

    response = client.get("/worklist/")

    rows = {row.dealer.code: row for row in response.context["work"].rows}
    assert set(rows) == {"RHYTHM", "OTHER", "FEW"}
    assert rows["RHYTHM"].call_day.rhythm == ReorderRhythm(D(2026, 11, 2), 18.0)
    assert not rows["OTHER"].call_day.good
    assert not rows["FEW"].call_day.good
    page = response.content.decode()
    assert (
        "Good day to call: likely sold 80% of the delivery of 2 Nov 2026 (reorders every 18 days)"
        in page
    )
    assert "month-end" not in page


@pytest.mark.django_db
def test_worklist_marks_month_end(client: Client, collector: Any, time_machine: Any) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC), tick=False)  # Mon
    _dealer_ordering_on("MONTHEND", collector, [D(2026, 10, 1)])
    client.force_login(collector)

    response = client.get("/worklist/")

    [row] = response.context["work"].rows
    assert row.call_day.month_end and row.call_day.rhythm is None
    assert "Good day to call: month-end" in response.content.decode()

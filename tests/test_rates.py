"""Exchange rates: the latest rate on or before a day converts an amount to the reporting
currency; a missing rate is an error, never 1; `upsert_rate` writes only what differs."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from receivables.models import ExchangeRate
from receivables.rates import MissingRate, Rates, rates_on, upsert_rate
from receivables.validation import rate_problem
from tests.factories import ExchangeRateFactory, UserFactory

pytestmark = pytest.mark.django_db

D = dt.date
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def czk_rates() -> None:
    ExchangeRateFactory(currency="CZK", on=D(2026, 1, 1), rate=Decimal("0.04000000"))
    ExchangeRateFactory(currency="CZK", on=D(2026, 2, 1), rate=Decimal("0.04100000"))
    ExchangeRateFactory(currency="CZK", on=D(2026, 3, 1), rate=Decimal("0.04200000"))


# --- Which rate applies ---------------------------------------------------------------------


def test_the_latest_rate_on_or_before_the_day_applies(czk_rates: None) -> None:
    assert rates_on(D(2026, 2, 1), ["CZK"]).rate("CZK") == Decimal("0.041")
    assert rates_on(D(2026, 2, 28), ["CZK"]).rate("CZK") == Decimal("0.041")
    assert rates_on(D(2026, 1, 31), ["CZK"]).rate("CZK") == Decimal("0.040")
    assert rates_on(D(2030, 1, 1), ["CZK"]).rate("CZK") == Decimal("0.042")


def test_a_day_before_the_first_rate_raises_missing_rate_naming_the_currency(
    czk_rates: None,
) -> None:
    rates = rates_on(D(2025, 12, 31), ["CZK"])

    with pytest.raises(MissingRate) as raised:
        rates.rate("CZK")

    assert raised.value.currency == "CZK"
    assert raised.value.on == D(2025, 12, 31)
    assert str(raised.value) == "No exchange rate for CZK on or before 2025-12-31."


def test_a_currency_without_any_rate_is_missing_not_one(czk_rates: None) -> None:
    rates = rates_on(D(2026, 3, 1), ["CZK", "PLN"])

    assert rates.missing(["PLN", "CZK", "EUR", "PLN"]) == ["PLN"]
    with pytest.raises(MissingRate, match=r"No exchange rate for PLN on or before 2026-03-01\."):
        rates.to_reporting(Decimal("100.00"), "PLN")


def test_the_reporting_currency_is_one_without_a_query(
    django_assert_num_queries: Any, settings: Any
) -> None:
    settings.REPORTING_CURRENCY = "EUR"

    with django_assert_num_queries(0):
        rates = rates_on(D(2026, 3, 1), ["EUR"])

    assert rates.rate("EUR") == Decimal(1)
    assert rates.to_reporting(Decimal("123.45"), "EUR") == Decimal("123.45")
    assert rates.missing(["EUR"]) == []


def test_the_reporting_currency_follows_the_setting(settings: Any) -> None:
    settings.REPORTING_CURRENCY = "CZK"
    ExchangeRateFactory(currency="EUR", on=D(2026, 1, 1), rate=Decimal("25.125"))

    rates = rates_on(D(2026, 1, 1), ["EUR", "CZK"])

    assert rates.reporting == "CZK"
    assert rates.rate("CZK") == Decimal(1)
    assert rates.to_reporting(Decimal("100.00"), "EUR") == Decimal("2512.50")


def test_several_currencies_take_one_query(django_assert_num_queries: Any, czk_rates: None) -> None:
    ExchangeRateFactory(currency="PLN", on=D(2026, 1, 15), rate=Decimal("0.235"))
    ExchangeRateFactory(currency="PLN", on=D(2026, 4, 1), rate=Decimal("0.240"))
    ExchangeRateFactory(currency="USD", on=D(2026, 2, 10), rate=Decimal("0.92"))
    ExchangeRateFactory(currency="HUF", on=D(2026, 2, 10), rate=Decimal("0.0025"))

    with django_assert_num_queries(1):
        rates = rates_on(D(2026, 2, 15), ["CZK", "PLN", "USD", "EUR", "GBP"])

    assert rates.by_currency == {
        "CZK": Decimal("0.041"),
        "PLN": Decimal("0.235"),
        "USD": Decimal("0.92"),
    }
    assert rates.missing(["CZK", "PLN", "USD", "EUR", "GBP"]) == ["GBP"]


# --- Converting -----------------------------------------------------------------------------


def test_amounts_are_converted_and_rounded_half_up_to_cents() -> None:
    rates = Rates(
        on=D(2026, 1, 1),
        reporting="EUR",
        by_currency={"CZK": Decimal("0.04"), "XXA": Decimal("0.5")},
    )

    assert rates.to_reporting(Decimal("1000.00"), "CZK") == Decimal("40.00")
    assert rates.to_reporting(Decimal("0.05"), "XXA") == Decimal("0.03")  # not banker's 0.02
    assert rates.to_reporting(Decimal("-0.05"), "XXA") == Decimal("-0.03")
    assert rates.to_reporting(Decimal("1000.00"), "CZK").as_tuple().exponent == -2


def test_a_product_longer_than_28_digits_is_rounded_once_not_twice() -> None:
    # The exact product is 9999999999499900010000.0049999999: Python's default 28 digits
    # would first round it to ...0000.005000 and then half up to ...0000.01.
    rates = Rates(
        on=D(2026, 1, 1),
        reporting="EUR",
        by_currency={"XXA": Decimal("9999999999.50000001")},
    )

    assert rates.to_reporting(Decimal("999999999999.99"), "XXA") == Decimal(
        "9999999999499900010000.00"
    )


# --- Writing --------------------------------------------------------------------------------


def test_upsert_creates_a_rate_with_its_history() -> None:
    user = UserFactory(username="fiona")

    rate = upsert_rate(
        currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.03978"), user=user, reason="test"
    )

    stored = ExchangeRate.objects.get()
    assert stored == rate
    assert (stored.currency, stored.on, stored.rate) == ("CZK", D(2026, 11, 2), Decimal("0.03978"))
    record = stored.history.get()
    assert (record.history_type, record.history_user, record.history_change_reason) == (
        "+",
        user,
        "test",
    )


def test_a_repeated_upsert_writes_no_second_history_row() -> None:
    upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.03978"))

    # The same rate written with more zeros is the same rate.
    upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.0397800"))

    assert ExchangeRate.objects.count() == 1
    assert ExchangeRate.history.count() == 1


def test_a_changed_rate_is_updated_with_one_history_row() -> None:
    upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.03978"))

    rate = upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.04"), reason="fix")

    assert rate.rate == Decimal("0.04")
    assert ExchangeRate.objects.get().rate == Decimal("0.04")
    assert [h.history_type for h in ExchangeRate.history.order_by("history_id")] == ["+", "~"]
    assert ExchangeRate.history.latest().history_change_reason == "fix"


def test_the_returned_rate_holds_what_the_database_stores() -> None:
    rate = upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("25.125"))

    assert str(rate.rate) == "25.12500000"


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("0", "The rate must be more than 0."),
        ("-0.5", "The rate must be more than 0."),
        ("0.000000001", "The rate has more than 8 decimals."),
        ("10000000000", "The rate is too large (at most 10 digits before the decimal point)."),
        ("NaN", "The rate is not a finite number."),
        ("Infinity", "The rate is not a finite number."),
    ],
)
def test_bad_rates_are_refused_and_nothing_is_written(rate: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal(rate))

    assert raised.value.message_dict == {"rate": [message]}
    assert not ExchangeRate.objects.exists()
    assert not ExchangeRate.history.exists()


def test_a_bad_rate_leaves_the_stored_rate_alone() -> None:
    upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("0.04"))

    with pytest.raises(ValidationError):
        upsert_rate(currency="CZK", on=D(2026, 11, 2), rate=Decimal("-0.04"))

    assert ExchangeRate.objects.get().rate == Decimal("0.04")
    assert ExchangeRate.history.count() == 1


@pytest.mark.parametrize("currency", ["czk", "CZKK", "CZ", "", "C1K"])
def test_bad_currency_codes_are_refused(currency: str) -> None:
    with pytest.raises(ValidationError) as raised:
        upsert_rate(currency=currency, on=D(2026, 11, 2), rate=Decimal("0.04"))

    assert raised.value.message_dict == {
        "currency": [f"{currency!r} is not a currency code such as EUR."]
    }
    assert not ExchangeRate.objects.exists()


def test_a_rate_for_the_reporting_currency_is_refused(settings: Any) -> None:
    settings.REPORTING_CURRENCY = "EUR"

    with pytest.raises(ValidationError) as raised:
        upsert_rate(currency="EUR", on=D(2026, 11, 2), rate=Decimal("1"))

    assert raised.value.message_dict == {
        "currency": ["EUR is the reporting currency; its rate is always 1."]
    }
    assert not ExchangeRate.objects.exists()


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        upsert_rate(currency="czk", on=D(2026, 11, 2), rate=Decimal("0"))

    assert set(raised.value.message_dict) == {"currency", "rate"}


def test_the_database_refuses_a_rate_of_zero_written_past_the_service() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRate.objects.create(currency="CZK", on=D(2026, 1, 1), rate=Decimal("0"))


def test_the_database_refuses_two_rates_of_a_currency_on_one_day() -> None:
    ExchangeRateFactory(currency="CZK", on=D(2026, 1, 1))

    with pytest.raises(IntegrityError), transaction.atomic():
        ExchangeRateFactory(currency="CZK", on=D(2026, 1, 1))


@pytest.mark.parametrize(
    ("rate", "problem"),
    [
        ("25.125", ""),
        ("0.00000001", ""),
        ("9999999999.99999999", ""),
        ("1e-9", "has more than 8 decimals"),
        ("1e1000000", "is too large (at most 10 digits before the decimal point)"),
        ("sNaN", "is not a finite number"),
    ],
)
def test_rate_problem_names_what_is_wrong(rate: str, problem: str) -> None:
    assert rate_problem(Decimal(rate)) == problem


# --- The setting ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["eur", "EURO"])
def test_a_reporting_currency_that_is_not_three_capitals_stops_the_start_up(value: str) -> None:
    env = {**os.environ, "REPORTING_CURRENCY": value, "DJANGO_SETTINGS_MODULE": "config.settings"}

    finished = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode != 0
    assert "ImproperlyConfigured" in finished.stderr
    assert "REPORTING_CURRENCY" in finished.stderr


# --- The admin ------------------------------------------------------------------------------


def admin_as(role: str) -> Client:
    client = Client()
    client.force_login(UserFactory(username=f"staff-{role}", role=role, is_staff=True))
    return client


def test_finance_enters_a_rate_in_the_admin_with_its_history() -> None:
    client = admin_as("finance")

    response = client.post(
        reverse("admin:receivables_exchangerate_add"),
        {"currency": "CZK", "on": "2026-01-01", "rate": "0.03978", "_save": "Save"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    rate = ExchangeRate.objects.get()
    assert (rate.currency, rate.on, rate.rate) == ("CZK", D(2026, 1, 1), Decimal("0.03978"))
    assert rate.history.get().history_user.username == "staff-finance"
    history = client.get(reverse("admin:receivables_exchangerate_history", args=[rate.pk]))
    assert history.status_code == 200


def test_saving_an_unchanged_rate_in_the_admin_writes_no_history_row() -> None:
    rate = ExchangeRateFactory(currency="CZK", on=D(2026, 1, 1), rate=Decimal("0.04"))
    before = ExchangeRate.history.count()

    response = admin_as("finance").post(
        reverse("admin:receivables_exchangerate_change", args=[rate.pk]),
        {"currency": "CZK", "on": "2026-01-01", "rate": "0.04000000", "_save": "Save"},
    )

    assert response.status_code == 302
    assert ExchangeRate.history.count() == before


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"currency": "EUR", "rate": "1"}, "EUR is the reporting currency; its rate is always 1."),
        ({"currency": "czk", "rate": "0.04"}, "is not a currency code such as EUR."),
        ({"currency": "CZK", "rate": "0"}, "The rate must be more than 0."),
        ({"currency": "CZK", "rate": "-0.04"}, "The rate must be more than 0."),
    ],
)
def test_the_admin_refuses_what_the_api_refuses(values: dict[str, str], message: str) -> None:
    response = admin_as("finance").post(
        reverse("admin:receivables_exchangerate_add"),
        {"on": "2026-01-01", "_save": "Save", **values},
    )

    assert response.status_code == 200
    assert escape(message) in response.content.decode()
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("role", ["collector", "auditor"])
def test_roles_that_only_read_rates_cannot_add_them_in_the_admin(role: str) -> None:
    client = admin_as(role)

    assert client.get(reverse("admin:receivables_exchangerate_changelist")).status_code == 200
    assert client.get(reverse("admin:receivables_exchangerate_add")).status_code == 403

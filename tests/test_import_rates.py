"""`manage.py import_ledger --rates F`: exchange rates from CSV or XLSX, all or nothing,
every bad row reported with its line and column, and a second run changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from receivables.importing import import_ledger
from receivables.models import Dealer, ExchangeRate
from tests.factories import ExchangeRateFactory

pytestmark = pytest.mark.django_db

D = dt.date

RATES = """\
currency,on,rate
CZK,2026-01-01,0.04
CZK,2026-02-01,0.041
PLN,2026-01-15,0.23456789
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_import(*args: str) -> str:
    out = StringIO()
    call_command("import_ledger", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def stored() -> dict[tuple[str, dt.date], Decimal]:
    return {(r.currency, r.on): r.rate for r in ExchangeRate.objects.all()}


def counts() -> tuple[int, int]:
    return ExchangeRate.objects.count(), ExchangeRate.history.count()


def failing_import(*args: str) -> list[str]:
    """Run an import that must fail; check that it wrote nothing and return the report."""
    before = (stored(), counts())
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_ledger", *args, stdout=StringIO(), stderr=err)
    assert (stored(), counts()) == before
    return err.getvalue().splitlines()


@pytest.fixture
def rates_csv(tmp_path: Path) -> Path:
    return write(tmp_path / "rates.csv", RATES)


# --- Good files -----------------------------------------------------------------------------


def test_a_good_file_imports_with_a_history_row_per_rate(rates_csv: Path) -> None:
    out = run_import("--rates", str(rates_csv))

    assert "rates.csv: 3 read, 3 created, 0 updated, 0 unchanged" in out
    assert stored() == {
        ("CZK", D(2026, 1, 1)): Decimal("0.04"),
        ("CZK", D(2026, 2, 1)): Decimal("0.041"),
        ("PLN", D(2026, 1, 15)): Decimal("0.23456789"),
    }
    assert {h.history_change_reason for h in ExchangeRate.history.all()} == {"import rates.csv"}
    assert ExchangeRate.history.count() == 3


def test_reimporting_the_same_file_writes_nothing(rates_csv: Path) -> None:
    run_import("--rates", str(rates_csv))
    before = [(r.pk, r.updated_at) for r in ExchangeRate.objects.order_by("pk")]

    out = run_import("--rates", str(rates_csv))

    assert "rates.csv: 3 read, 0 created, 0 updated, 3 unchanged" in out
    assert [(r.pk, r.updated_at) for r in ExchangeRate.objects.order_by("pk")] == before
    assert ExchangeRate.history.count() == 3


def test_a_changed_rate_is_updated_and_the_others_left_alone(
    rates_csv: Path, tmp_path: Path
) -> None:
    run_import("--rates", str(rates_csv))
    changed = write(tmp_path / "rates2.csv", RATES.replace("0.041", "0.0415"))

    out = run_import("--rates", str(changed))

    assert "rates2.csv: 3 read, 0 created, 1 updated, 2 unchanged" in out
    assert stored()[("CZK", D(2026, 2, 1))] == Decimal("0.0415")
    assert ExchangeRate.history.filter(history_type="~").count() == 1


def test_a_dry_run_writes_nothing(rates_csv: Path) -> None:
    out = run_import("--rates", str(rates_csv), "--dry-run")

    assert "rates.csv: 3 read, 3 created" in out
    assert "Dry run: nothing was written." in out
    assert counts() == (0, 0)


def test_rates_import_together_with_dealers(tmp_path: Path) -> None:
    dealers = write(tmp_path / "dealers.csv", "code,name,country,currency\nD1,Agro,CZ,CZK\n")
    rates = write(tmp_path / "rates.csv", RATES)

    out = run_import("--dealers", str(dealers), "--rates", str(rates))

    assert "dealers.csv: 1 read, 1 created" in out
    assert "rates.csv: 3 read, 3 created" in out
    assert Dealer.objects.get().currency == "CZK"
    assert ExchangeRate.objects.count() == 3


def test_an_xlsx_file_with_number_and_date_cells_is_read(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["currency", "on", "rate"])
    sheet.append(["CZK", dt.datetime(2026, 1, 1), 0.03978])
    sheet.append(["PLN", D(2026, 1, 1), "0.2345"])
    sheet.append(["HUF", "2026-01-01", 0.1 + 0.2])
    sheet.append(["JPY", D(2026, 1, 1), 1])
    workbook.save(tmp_path / "rates.xlsx")

    run_import("--rates", str(tmp_path / "rates.xlsx"))

    assert stored() == {
        ("CZK", D(2026, 1, 1)): Decimal("0.03978"),
        ("PLN", D(2026, 1, 1)): Decimal("0.2345"),
        ("HUF", D(2026, 1, 1)): Decimal("0.3"),
        ("JPY", D(2026, 1, 1)): Decimal("1"),
    }


def test_a_semicolon_csv_with_decimal_commas_is_read(tmp_path: Path) -> None:
    rates = write(
        tmp_path / "rates.csv", "currency;on;rate\nCZK;2026-01-01;0,03978\nUSD;2026-01-01;0,92\n"
    )

    run_import("--rates", str(rates))

    assert stored() == {
        ("CZK", D(2026, 1, 1)): Decimal("0.03978"),
        ("USD", D(2026, 1, 1)): Decimal("0.92"),
    }


def test_the_date_formats_of_the_other_files_apply(tmp_path: Path) -> None:
    rates = write(tmp_path / "rates.csv", "currency,on,rate\nCZK,1.2.2026,0.04\n")

    run_import("--rates", str(rates), "--date-format", "%d.%m.%Y")

    assert stored() == {("CZK", D(2026, 2, 1)): Decimal("0.04")}


def test_batches_find_stored_rates_and_duplicates_across_their_boundaries(
    rates_csv: Path, tmp_path: Path
) -> None:
    assert import_ledger(rates=rates_csv, batch_size=2).ok
    history = ExchangeRate.history.count()

    again = import_ledger(rates=rates_csv, batch_size=2)
    duplicate = write(tmp_path / "dup.csv", RATES + "CZK,2026-01-01,0.05\n")
    failed = import_ledger(rates=duplicate, batch_size=2)

    assert (again.files[0].unchanged, ExchangeRate.history.count()) == (3, history)
    assert [str(e) for e in failed.errors] == [
        "dup.csv, line 5, column on: duplicate currency and day 'CZK 2026-01-01', first on line 2"
    ]


# --- Bad files ------------------------------------------------------------------------------


def test_bad_rows_are_reported_with_line_and_column_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    ExchangeRateFactory(currency="CZK", on=D(2025, 12, 1), rate=Decimal("0.039"))
    rates = write(
        tmp_path / "rates.csv",
        "currency,on,rate\n"
        "CZK,2026-01-01,0.04\n"  # good, but the file as a whole fails
        "czk,2026-01-02,0.04\n"
        "PLN,2026-02-30,0.23\n"
        "USD,2026-01-01,0\n"
        "USD,2026-01-02,-0.92\n"
        "HUF,2026-01-01,0.000000001\n"
        "JPY,2026-01-01,abc\n"
        "GBP,2026-01-01,10000000000\n"
        "CHF,,\n"
        "EUR,2026-01-01,1\n"
        "CZK,2026-01-01,0.041\n"
        "SEK,2026-01-01,1,234\n",
    )

    report = failing_import("--rates", str(rates))

    assert report == [
        "rates.csv, line 3, column currency: 'czk' is not a currency code such as EUR",
        "rates.csv, line 4, column on: '2026-02-30' is not a valid date (expected YYYY-MM-DD)",
        "rates.csv, line 5, column rate: 0 must be more than 0",
        "rates.csv, line 6, column rate: -0.92 must be more than 0",
        "rates.csv, line 7, column rate: 0.000000001 has more than 8 decimals",
        "rates.csv, line 8, column rate: 'abc' is not a rate (write it like 25.125)",
        "rates.csv, line 9, column rate: 10000000000 is too large "
        "(at most 10 digits before the decimal point)",
        "rates.csv, line 10, column on: is required",
        "rates.csv, line 10, column rate: is required",
        "rates.csv, line 11, column currency: EUR is the reporting currency; its rate is always 1",
        "rates.csv, line 12, column on: duplicate currency and day 'CZK 2026-01-01', "
        "first on line 2",
        "rates.csv, line 13: 4 values but the header has 3",
    ]


def test_a_comma_that_may_separate_thousands_is_refused(tmp_path: Path) -> None:
    rates = write(tmp_path / "rates.csv", "currency;on;rate\nHUF;2026-01-01;1,234\n")

    report = failing_import("--rates", str(rates))

    assert report == [
        "rates.csv, line 2, column rate: '1,234' could be a decimal comma or a thousands "
        "separator; write it with a decimal point, like 25.125"
    ]


def test_the_reporting_currency_follows_the_setting(tmp_path: Path, settings: Any) -> None:
    settings.REPORTING_CURRENCY = "CZK"
    rates = write(
        tmp_path / "rates.csv", "currency,on,rate\nEUR,2026-01-01,25.125\nCZK,2026-01-01,1\n"
    )

    report = failing_import("--rates", str(rates))

    assert report == [
        "rates.csv, line 3, column currency: CZK is the reporting currency; its rate is always 1"
    ]


def test_a_header_without_the_rate_column_is_reported(tmp_path: Path) -> None:
    rates = write(tmp_path / "rates.csv", "currency,on,amount\nCZK,2026-01-01,0.04\n")

    report = failing_import("--rates", str(rates))

    assert report == [
        "rates.csv, line 1, column amount: unknown column (expected some of: currency, on, rate)",
        "rates.csv, line 1, column rate: missing required column",
    ]


def test_a_bad_rates_file_keeps_the_good_dealers_file_out_too(tmp_path: Path) -> None:
    dealers = write(tmp_path / "dealers.csv", "code,name,country,currency\nD1,Agro,CZ,CZK\n")
    rates = write(tmp_path / "rates.csv", "currency,on,rate\nCZK,2026-01-01,0\n")

    failing_import("--dealers", str(dealers), "--rates", str(rates))

    assert not Dealer.objects.exists()


def test_a_failing_rates_import_exits_with_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rates = write(tmp_path / "rates.csv", "currency,on,rate\nCZK,2026-01-01,0\n")

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_ledger", "--rates", str(rates)]).execute()

    # run_from_argv closes the database connections when it ends, so nothing is read from
    # the database after it here: that nothing was written is `failing_import`'s check.
    assert exit_info.value.code == 1
    assert "rates.csv, line 2, column rate: 0 must be more than 0" in capsys.readouterr().err


def test_the_command_names_rates_among_the_files_it_needs() -> None:
    with pytest.raises(CommandError, match="--rates"):
        call_command("import_ledger", stdout=StringIO())

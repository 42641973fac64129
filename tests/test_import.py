"""`manage.py import_ledger`: dealers, orders and payments from CSV or XLSX files, all or
nothing, every bad row reported, and a second run of the same files changes nothing
(docs/API.md "Commands")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError

from receivables.importing import import_ledger
from receivables.models import Allocation, Dealer, Order, Payment
from tests.factories import DealerFactory, OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db

D = dt.date

DEALERS = """\
code,name,country,currency,credit_limit,collector
D1,Hof Meyer,DE,EUR,5000.00,carl
D2,Ferme Dupont,FR,EUR,,
"""

ORDERS = """\
number,dealer,ordered_on,due_on,amount,disputed
0001,D1,2026-01-05,2026-02-04,1000.00,no
0002,D1,2026-02-01,2026-03-03,500.00,no
0003,D2,2026-01-10,2026-02-09,250.50,yes
"""

PAYMENTS = """\
reference,dealer,received_on,amount,order,method
P1,D1,2026-02-10,1200.00,0001,transfer
P2,D2,2026-02-15,100.00,,cash
"""

LEDGER_MODELS = [Dealer, Order, Payment, Allocation]


def write(path: Path, text: str, *, bom: bool = False, encoding: str = "utf-8") -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))
    return path


def ledger_files(
    tmp_path: Path, dealers: str = DEALERS, orders: str = ORDERS, payments: str = PAYMENTS
) -> dict[str, Path]:
    return {
        "dealers": write(tmp_path / "dealers.csv", dealers),
        "orders": write(tmp_path / "orders.csv", orders),
        "payments": write(tmp_path / "payments.csv", payments),
    }


def run_import(*args: str, **files: Path) -> str:
    out = StringIO()
    options = [arg for kind, path in files.items() for arg in (f"--{kind}", str(path))]
    call_command("import_ledger", *options, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def ledger_counts() -> dict[str, int]:
    counts = {}
    for model in LEDGER_MODELS:
        counts[model.__name__] = model.objects.count()
        counts[f"{model.__name__} history"] = model.history.count()
    return counts


def failing_import(*args: str, **files: Path) -> list[str]:
    """Run an import that must fail; check that it wrote nothing and return the report."""
    before = ledger_counts()
    err = StringIO()
    options = [arg for kind, path in files.items() for arg in (f"--{kind}", str(path))]
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_ledger", *options, *args, stdout=StringIO(), stderr=err)
    assert ledger_counts() == before
    return err.getvalue().splitlines()


@pytest.fixture
def files(tmp_path: Path, collector) -> dict[str, Path]:
    return ledger_files(tmp_path)


# Reading the files ---------------------------------------------------------------------


def test_csv_with_commas_creates_dealers_orders_and_payments(files, collector):
    out = run_import(**files)

    assert "dealers.csv: 2 read, 2 created, 0 updated, 0 unchanged" in out
    assert "orders.csv: 3 read, 3 created, 0 updated, 0 unchanged" in out
    assert "payments.csv: 2 read, 2 created, 0 updated, 0 unchanged" in out
    d1 = Dealer.objects.get(code="D1")
    assert (d1.name, d1.country, d1.currency) == ("Hof Meyer", "DE", "EUR")
    assert d1.credit_limit == Decimal("5000.00")
    assert d1.collector == collector
    assert Dealer.objects.get(code="D2").collector is None
    order = Order.objects.get(number="0003")
    assert order.dealer.code == "D2"
    assert (order.ordered_on, order.due_on) == (D(2026, 1, 10), D(2026, 2, 9))
    assert order.amount == Decimal("250.50")
    assert order.disputed is True
    p2 = Payment.objects.get(reference="P2")
    assert (p2.method, p2.order, p2.amount) == ("cash", None, Decimal("100.00"))
    assert Payment.objects.get(reference="P1").order == Order.objects.get(number="0001")


def test_history_records_name_the_imported_file(files):
    run_import(**files)

    record = Order.history.get(number="0001")
    assert record.history_type == "+"
    assert record.history_change_reason == "import orders.csv"


def test_payments_are_allocated_named_order_first_then_oldest_due(files):
    run_import(**files)

    allocations = {
        (a.payment.reference, a.order.number): (a.amount, a.applied_on)
        for a in Allocation.objects.select_related("payment", "order")
    }
    assert allocations == {
        ("P1", "0001"): (Decimal("1000.00"), D(2026, 2, 10)),
        ("P1", "0002"): (Decimal("200.00"), D(2026, 2, 10)),
        ("P2", "0003"): (Decimal("100.00"), D(2026, 2, 15)),
    }


def test_payment_leftover_becomes_credit_applied_to_a_later_order(tmp_path, collector):
    files = ledger_files(
        tmp_path,
        orders="number,dealer,ordered_on,due_on,amount\n"
        "0001,D1,2026-01-05,2026-02-04,1000.00\n"
        "0002,D1,2026-03-01,2026-03-31,500.00\n",
        payments="reference,dealer,received_on,amount,order\nP1,D1,2026-02-10,1300.00,0001\n",
    )

    run_import(**files)

    later = Allocation.objects.get(order__number="0002")
    assert (later.amount, later.applied_on) == (Decimal("300.00"), D(2026, 3, 1))
    assert Dealer.objects.get(code="D1").unapplied_credit() == Decimal("0.00")


def test_semicolon_delimited_csv_is_read(tmp_path, collector):
    orders = ORDERS.replace(",", ";")
    files = ledger_files(tmp_path, dealers=DEALERS.replace(",", ";"), orders=orders)

    run_import(**files)

    assert Order.objects.get(number="0003").amount == Decimal("250.50")
    assert Dealer.objects.get(code="D1").name == "Hof Meyer"


def test_decimal_comma_in_a_semicolon_csv_is_read(tmp_path, collector):
    files = ledger_files(
        tmp_path,
        orders="number;dealer;ordered_on;due_on;amount\n0001;D1;2026-01-05;2026-02-04;1234,5\n",
    )

    run_import(dealers=files["dealers"], orders=files["orders"])

    assert Order.objects.get(number="0001").amount == Decimal("1234.50")


def test_csv_with_byte_order_mark_is_read(tmp_path, collector):
    dealers = write(tmp_path / "dealers.csv", DEALERS, bom=True)
    orders = write(tmp_path / "orders.csv", ORDERS.replace(",", ";"), bom=True)

    run_import(dealers=dealers, orders=orders)

    assert set(Dealer.objects.values_list("code", flat=True)) == {"D1", "D2"}
    assert Order.objects.count() == 3


def test_csv_with_crlf_line_endings_and_quoted_fields_is_read(tmp_path):
    dealers = write(
        tmp_path / "dealers.csv",
        "code,name,country,currency,address\r\n"
        'D1,"Meyer, Hof",DE,EUR,"Hauptstrasse 1\r\n12345 Musterstadt"\r\n'
        "D2,Ferme Dupont,FR,EUR,\r\n",
    )

    run_import(dealers=dealers)

    d1 = Dealer.objects.get(code="D1")
    assert d1.name == "Meyer, Hof"
    assert d1.address == "Hauptstrasse 1\r\n12345 Musterstadt"


def test_xlsx_with_date_and_number_cells_is_read(tmp_path):
    DealerFactory(code="D1")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["number", "dealer", "ordered_on", "due_on", "amount", "disputed"])
    sheet.append(["0001", "D1", dt.datetime(2026, 1, 5), D(2026, 2, 4), 55.94, False])
    sheet.append(["0002", "D1", "2026-01-06", "2026-02-05", 0.1 + 0.2, "yes"])
    sheet.append(["0003", "D1", D(2026, 1, 7), D(2026, 2, 6), 1200, 1])
    sheet.append(["0004", "D1", D(2026, 1, 7), D(2026, 2, 6), "99.90", None])
    workbook.save(tmp_path / "orders.xlsx")

    out = run_import(orders=tmp_path / "orders.xlsx")

    assert "orders.xlsx: 4 read, 4 created" in out
    orders = {o.number: o for o in Order.objects.all()}
    assert orders["0001"].ordered_on == D(2026, 1, 5)
    assert orders["0001"].due_on == D(2026, 2, 4)
    assert orders["0001"].amount == Decimal("55.94")
    assert orders["0002"].amount == Decimal("0.30")
    assert orders["0003"].amount == Decimal("1200.00")
    assert orders["0004"].amount == Decimal("99.90")
    assert [orders[n].disputed for n in ("0001", "0002", "0003", "0004")] == [
        False,
        True,
        True,
        False,
    ]


def test_xlsx_file_of_a_different_name_is_told_from_its_content(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.active.append(["code", "name", "country", "currency"])
    workbook.active.append(["D1", "Hof Meyer", "DE", "EUR"])
    workbook.save(tmp_path / "dealers-export.dat")

    run_import(dealers=tmp_path / "dealers-export.dat")

    assert Dealer.objects.get(code="D1").name == "Hof Meyer"


def test_custom_date_format_is_accepted(tmp_path, collector):
    files = ledger_files(
        tmp_path,
        orders="number,dealer,ordered_on,due_on,amount\n0001,D1,5.1.2026,04.02.2026,10.00\n",
        payments="reference,dealer,received_on,amount\nP1,D1,2026-02-10,10.00\n",
    )

    run_import("--date-format", "%d.%m.%Y", **files)

    order = Order.objects.get(number="0001")
    assert (order.ordered_on, order.due_on) == (D(2026, 1, 5), D(2026, 2, 4))
    assert Payment.objects.get().received_on == D(2026, 2, 10)


def test_date_formats_from_settings_are_accepted(tmp_path, settings):
    settings.IMPORT_DATE_FORMATS = ["%m/%d/%Y"]
    DealerFactory(code="D1")
    orders = write(
        tmp_path / "orders.csv",
        "number,dealer,ordered_on,due_on,amount\n0001,D1,1/5/2026,2/4/2026,10.00\n",
    )

    run_import(orders=orders)

    assert Order.objects.get().due_on == D(2026, 2, 4)


def test_leading_zeros_of_order_numbers_are_kept(tmp_path):
    DealerFactory(code="D1")
    orders = write(
        tmp_path / "orders.csv",
        "number,dealer,ordered_on,due_on,amount\n"
        "0000611365,D1,2026-01-05,2026-02-04,10.00\n"
        "611365,D1,2026-01-05,2026-02-04,20.00\n",
    )
    payments = write(
        tmp_path / "payments.csv",
        "reference,dealer,received_on,amount,order\nP1,D1,2026-02-10,10.00,0000611365\n",
    )

    run_import(orders=orders, payments=payments)

    assert set(Order.objects.values_list("number", flat=True)) == {"0000611365", "611365"}
    assert Payment.objects.get().order.number == "0000611365"


def test_missing_optional_column_leaves_the_existing_value_alone(tmp_path):
    DealerFactory(code="D1", name="Old name", credit_limit=Decimal("7000.00"), phone="+49 1")
    dealers = write(tmp_path / "dealers.csv", "code,name,country,currency\nD1,New,DE,EUR\n")

    run_import(dealers=dealers)

    dealer = Dealer.objects.get(code="D1")
    assert dealer.name == "New"
    assert (dealer.credit_limit, dealer.phone) == (Decimal("7000.00"), "+49 1")


def test_empty_cell_of_an_optional_column_sets_the_default(tmp_path):
    DealerFactory(code="D1", credit_limit=Decimal("7000.00"), phone="+49 1")
    dealers = write(
        tmp_path / "dealers.csv",
        "code,name,country,currency,credit_limit,phone\nD1,New,DE,EUR,,\n",
    )

    run_import(dealers=dealers)

    dealer = Dealer.objects.get(code="D1")
    assert (dealer.credit_limit, dealer.phone) == (Decimal("0.00"), "")


# Running again -------------------------------------------------------------------------


def test_reimporting_the_same_files_changes_nothing(files):
    run_import(**files)
    before = ledger_counts()
    updated_at = list(Order.objects.order_by("pk").values_list("updated_at", flat=True))

    out = run_import(**files)

    assert ledger_counts() == before
    assert list(Order.objects.order_by("pk").values_list("updated_at", flat=True)) == updated_at
    assert "dealers.csv: 2 read, 0 created, 0 updated, 2 unchanged" in out
    assert "orders.csv: 3 read, 0 created, 0 updated, 3 unchanged" in out
    assert "payments.csv: 2 read, 0 created, 0 updated, 2 unchanged" in out
    assert "0 allocation(s) written" in out


def test_reimporting_an_xlsx_file_changes_nothing(tmp_path):
    DealerFactory(code="D1")
    workbook = openpyxl.Workbook()
    workbook.active.append(["number", "dealer", "ordered_on", "due_on", "amount"])
    workbook.active.append(["0001", "D1", dt.datetime(2026, 1, 5), D(2026, 2, 4), 55.94])
    workbook.save(tmp_path / "orders.xlsx")
    run_import(orders=tmp_path / "orders.xlsx")
    before = ledger_counts()

    out = run_import(orders=tmp_path / "orders.xlsx")

    assert ledger_counts() == before
    assert "orders.xlsx: 1 read, 0 created, 0 updated, 1 unchanged" in out


def test_changed_row_is_updated_with_a_history_record(tmp_path, files):
    run_import(**files)
    before = ledger_counts()
    changed = write(
        tmp_path / "orders.csv",
        ORDERS.replace(
            "0002,D1,2026-02-01,2026-03-03,500.00", "0002,D1,2026-02-01,2026-03-03,150.00"
        ),
    )

    out = run_import(orders=changed)

    assert "orders.csv: 3 read, 0 created, 1 updated, 2 unchanged" in out
    assert Order.objects.get(number="0002").amount == Decimal("150.00")
    latest = Order.history.filter(number="0002").latest("history_date")
    assert (latest.history_type, latest.amount) == ("~", Decimal("150.00"))
    assert latest.history_change_reason == "import orders.csv"
    assert ledger_counts()["Order history"] == before["Order history"] + 1
    assert ledger_counts()["Order"] == before["Order"]
    # The 200.00 left of P1 now covers 150.00 of order 0002; 50.00 stays as credit.
    assert Allocation.objects.get(order__number="0002").amount == Decimal("150.00")
    assert Dealer.objects.get(code="D1").unapplied_credit() == Decimal("50.00")


def test_order_moved_to_another_dealer_is_reallocated_for_both(tmp_path, files):
    run_import(**files)
    moved = write(
        tmp_path / "orders.csv",
        ORDERS.replace("0002,D1", "0002,D2"),
    )

    run_import(orders=moved)

    assert Order.objects.get(number="0002").dealer.code == "D2"
    assert not Allocation.objects.filter(payment__reference="P1", order__number="0002").exists()
    assert Dealer.objects.get(code="D1").unapplied_credit() == Decimal("200.00")


def test_dry_run_reports_counts_and_writes_nothing(files):
    before = ledger_counts()
    out = StringIO()

    call_command(
        "import_ledger",
        *[arg for kind, path in files.items() for arg in (f"--{kind}", str(path))],
        "--dry-run",
        stdout=out,
    )

    assert ledger_counts() == before
    assert "orders.csv: 3 read, 3 created, 0 updated, 0 unchanged" in out.getvalue()
    assert "Dry run: nothing was written." in out.getvalue()
    # And the real run afterwards still works (nothing left behind by the dry run).
    run_import(**files)
    assert Order.objects.count() == 3


def test_import_in_small_batches_gives_the_same_result(files, settings):
    settings.IMPORT_BATCH_SIZE = 1

    run_import(**files)

    assert Order.objects.count() == 3
    assert Allocation.objects.count() == 3


def test_long_import_reports_progress(files):
    lines: list[str] = []

    result = import_ledger(**files, progress=lines.append, progress_every=2)

    assert result.ok
    assert lines == [
        "dealers.csv: 2 rows read",
        "orders.csv: 2 rows read",
        "payments.csv: 2 rows read",
    ]


# Bad input -----------------------------------------------------------------------------


def test_bad_date_is_reported_and_nothing_is_written(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS.replace("2026-02-09", "2026-02-30"))

    report = failing_import(**files)

    assert report == [
        "orders.csv, line 4, column due_on: '2026-02-30' is not a valid date (expected YYYY-MM-DD)"
    ]


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        ("0", "0.00 must be more than 0"),
        ("-5.00", "-5.00 must be more than 0"),
        ("12.345", "'12.345' has more than 2 decimals"),
        ("1,234.00", "'1,234.00' is not an amount (write it like 1234.50)"),
        ("12x", "'12x' is not an amount (write it like 1234.50)"),
        ("", "is required"),
    ],
)
def test_bad_amount_is_reported(tmp_path, collector, amount, reason):
    orders = ORDERS.replace("250.50", f'"{amount}"')
    files = ledger_files(tmp_path, orders=orders)

    report = failing_import(**files)

    assert report == [f"orders.csv, line 4, column amount: {reason}"]


def test_xlsx_amount_with_more_than_two_decimals_is_reported(tmp_path):
    DealerFactory(code="D1")
    workbook = openpyxl.Workbook()
    workbook.active.append(["number", "dealer", "ordered_on", "due_on", "amount"])
    workbook.active.append(["0001", "D1", D(2026, 1, 5), D(2026, 2, 4), 10.005])
    workbook.save(tmp_path / "orders.xlsx")

    report = failing_import(orders=tmp_path / "orders.xlsx")

    assert report == ["orders.xlsx, line 2, column amount: 10.005 has more than 2 decimals"]


def test_order_number_in_a_number_cell_is_reported(tmp_path):
    DealerFactory(code="D1")
    workbook = openpyxl.Workbook()
    workbook.active.append(["number", "dealer", "ordered_on", "due_on", "amount"])
    workbook.active.append([611365, "D1", D(2026, 1, 5), D(2026, 2, 4), 10])
    workbook.save(tmp_path / "orders.xlsx")

    report = failing_import(orders=tmp_path / "orders.xlsx")

    assert report == [
        "orders.xlsx, line 2, column number: is a number cell, which loses leading zeros; "
        "format it as text"
    ]


def test_duplicate_key_within_a_file_is_reported(tmp_path, collector, settings):
    # Batches of two put the duplicate in a later batch than the first occurrence.
    settings.IMPORT_BATCH_SIZE = 2
    orders = ORDERS + "0001,D2,2026-01-05,2026-02-04,10.00,no\n0003,D2,2026-01-05,2026-02-04,1,no\n"
    files = ledger_files(tmp_path, orders=orders)

    report = failing_import(**files)

    assert report == [
        "orders.csv, line 5, column number: duplicate number '0001', first on line 2",
        "orders.csv, line 6, column number: duplicate number '0003', first on line 4",
    ]


def test_duplicate_key_within_one_batch_is_reported(tmp_path, collector):
    dealers = DEALERS + "D1,Hof Meyer again,DE,EUR,,\n"
    files = ledger_files(tmp_path, dealers=dealers)

    report = failing_import(**files)

    assert report == ["dealers.csv, line 4, column code: duplicate code 'D1', first on line 2"]


def test_unknown_dealer_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS + "0004,D9,2026-01-05,2026-02-04,10.00,no\n")

    report = failing_import(**files)

    assert report == ["orders.csv, line 5, column dealer: unknown dealer 'D9'"]


def test_dealer_in_the_database_needs_no_dealers_file(tmp_path):
    DealerFactory(code="D1")
    DealerFactory(code="D2")
    files = ledger_files(tmp_path)

    run_import(orders=files["orders"], payments=files["payments"])

    assert Order.objects.count() == 3


def test_unknown_order_named_by_a_payment_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, payments=PAYMENTS.replace(",0001,", ",1,"))

    report = failing_import(**files)

    assert report == ["payments.csv, line 2, column order: unknown order '1'"]


def test_payment_naming_an_order_of_another_dealer_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, payments=PAYMENTS.replace(",0001,", ",0003,"))

    report = failing_import(**files)

    assert report == [
        "payments.csv, line 2, column order: order '0003' belongs to dealer 'D2', not 'D1'"
    ]


def test_payment_naming_an_order_of_another_dealer_in_the_database_is_reported(tmp_path):
    OrderFactory(number="0009", dealer=DealerFactory(code="D2"))
    DealerFactory(code="D1")
    payments = write(
        tmp_path / "payments.csv",
        "reference,dealer,received_on,amount,order\nP1,D1,2026-02-10,10.00,0009\n",
    )

    report = failing_import(payments=payments)

    assert report == [
        "payments.csv, line 2, column order: order '0009' belongs to dealer 'D2', not 'D1'"
    ]


def test_due_date_before_order_date_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS.replace("2026-02-04", "2026-01-04"))

    report = failing_import(**files)

    assert report == [
        "orders.csv, line 2, column due_on: 2026-01-04 is before ordered_on 2026-01-05"
    ]


def test_missing_required_column_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS.replace(",due_on", ",due"))

    report = failing_import(**files)

    assert "orders.csv, line 1, column due_on: missing required column" in report
    assert any(line.startswith("orders.csv, line 1, column due: unknown column") for line in report)
    # The payments naming orders of the unreadable file are not reported one by one.
    assert not any(line.startswith("payments.csv") for line in report)


def test_file_not_in_utf8_is_reported_with_its_line(tmp_path, collector):
    files = ledger_files(tmp_path)
    write(files["dealers"], DEALERS.replace("Ferme Dupont", "Fermé Dupont"), encoding="latin-1")

    report = failing_import(**files)

    assert report == [
        "dealers.csv, line 3: not UTF-8 (byte 0xe9 at position 8); save the file as UTF-8"
    ]


def test_utf16_file_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path)
    write(files["dealers"], DEALERS, encoding="utf-16")

    report = failing_import(**files)

    assert report[0] == "dealers.csv, line 1: the file is UTF-16; save it as UTF-8"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "line 1: the file is empty"),
        ("\n  \n", "line 1: the file is empty"),
        ("reference,dealer,received_on,amount\n", "line 1: the file has a header but no rows"),
    ],
)
def test_empty_file_is_reported(tmp_path, content, reason):
    payments = write(tmp_path / "payments.csv", content)

    report = failing_import(payments=payments)

    assert report == [f"payments.csv, {reason}"]


def test_unknown_collector_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, dealers=DEALERS.replace("carl", "nobody"))

    report = failing_import(**files)

    assert report == ["dealers.csv, line 2, column collector: unknown user 'nobody'"]


def test_country_and_currency_must_be_capital_letter_codes(tmp_path, collector):
    files = ledger_files(tmp_path, dealers=DEALERS.replace("DE,EUR", "de,EURO"))

    report = failing_import(**files)

    assert report == [
        "dealers.csv, line 2, column country: 'de' is not an ISO 3166 alpha-2 code such as DE",
        "dealers.csv, line 2, column currency: 'EURO' is not a currency code such as EUR",
    ]


def test_row_with_more_values_than_the_header_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS + "0004,D1,2026-01-05,2026-02-04,10,00,no\n")

    report = failing_import(**files)

    assert report == ["orders.csv, line 5: 7 values but the header has 6"]


def test_unknown_payment_method_is_reported(tmp_path, collector):
    files = ledger_files(tmp_path, payments=PAYMENTS.replace("cash", "bitcoin"))

    report = failing_import(**files)

    assert report[0].startswith("payments.csv, line 3, column method: 'bitcoin' is not one of")


def test_every_bad_row_in_every_file_is_reported(tmp_path, collector):
    files = ledger_files(
        tmp_path,
        dealers=DEALERS + "D3,,XX1,EUR,,\n",
        orders=ORDERS
        + "0004,D3,2026-13-01,2026-02-04,-1,no\n0005,D1,2026-01-05,2026-02-04,abc,no\n",
        payments=PAYMENTS + "P3,D1,2026-02-10,5.00,0404,\n",
    )

    report = failing_import(**files)

    assert report == [
        "dealers.csv, line 4, column name: is required",
        "dealers.csv, line 4, column country: 'XX1' is not an ISO 3166 alpha-2 code such as DE",
        "orders.csv, line 5, column ordered_on: '2026-13-01' is not a valid date "
        "(expected YYYY-MM-DD)",
        "orders.csv, line 5, column amount: -1.00 must be more than 0",
        "orders.csv, line 6, column amount: 'abc' is not an amount (write it like 1234.50)",
        "payments.csv, line 4, column order: unknown order '0404'",
    ]


def test_bad_row_after_good_ones_leaves_existing_rows_unchanged(tmp_path, collector):
    DealerFactory(code="D1", name="Old name")
    order = OrderFactory(number="0001", dealer=Dealer.objects.get(code="D1"))
    PaymentFactory(reference="P0", dealer=order.dealer, amount=Decimal("10.00"))
    files = ledger_files(tmp_path, payments=PAYMENTS + "P3,D1,2026-02-10,0,,\n")

    report = failing_import(**files)

    assert report == ["payments.csv, line 4, column amount: 0.00 must be more than 0"]
    assert Dealer.objects.get(code="D1").name == "Old name"
    assert Order.objects.get(number="0001").amount == Decimal("1000.00")


def test_failing_import_exits_with_a_non_zero_status(tmp_path, capsys):
    orders = write(tmp_path / "orders.csv", ORDERS)

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_ledger", "--orders", str(orders)]).execute()

    assert exit_info.value.code == 1
    assert "orders.csv, line 2, column dealer: unknown dealer 'D1'" in capsys.readouterr().err


def test_command_needs_at_least_one_file():
    with pytest.raises(CommandError, match="at least one"):
        call_command("import_ledger", stdout=StringIO())


def test_missing_file_is_reported(tmp_path):
    report = failing_import(orders=tmp_path / "nope.csv")

    assert report == ["nope.csv: cannot open the file: No such file or directory"]


def test_service_returns_errors_with_file_line_and_column(tmp_path, collector):
    files = ledger_files(tmp_path, orders=ORDERS.replace("2026-02-09", "2026-02-30"))

    result = import_ledger(**files)

    assert not result.ok
    [error] = result.errors
    assert (error.file, error.line, error.column) == ("orders.csv", 4, "due_on")
    assert "is not a valid date" in error.message


def test_an_unassigned_country_code_is_refused_as_the_api_refuses_it(tmp_path, collector):
    files = ledger_files(tmp_path, dealers=DEALERS + "D3,Agro Nowhere,XX,EUR,,\n")

    report = failing_import(**files)

    assert report == [
        "dealers.csv, line 4, column country: 'XX' is not an ISO 3166 alpha-2 code such as DE"
    ]

"""IBM's late-payment sample through `import_ledger`: the aging report and the 2013 KPIs
must equal an independent computation from the raw CSV that follows docs/API.md's definitions
word for word (plain Python: csv, Decimal, datetime)."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from receivables.models import AGING_BUCKETS, Order
from receivables.reports import kpi_report

# Kept in the repository (tests/data/README.md says where it comes from).
IBM_CSV = Path(__file__).resolve().parent / "data" / "ibm-late-payments.csv"

# Any fixed ISO alpha-2 code for each of the file's five numeric country codes.
COUNTRIES = {"391": "DE", "406": "FR", "770": "NL", "818": "AT", "897": "PL"}
AGING_DAYS = [
    dt.date(2012, 6, 30),
    dt.date(2012, 12, 31),
    dt.date(2013, 6, 30),
    dt.date(2013, 12, 31),
]
KPI_START, KPI_END = dt.date(2013, 1, 1), dt.date(2013, 12, 31)

pytestmark = pytest.mark.django_db


def us_date(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%m/%d/%Y").date()


def raw_rows() -> list[dict[str, str]]:
    # Never skipped: without the file the tests fail and say where it should be.
    assert IBM_CSV.is_file(), f"IBM sample missing at {IBM_CSV} (see tests/data/README.md)"
    with IBM_CSV.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def imported(tmp_path: Path) -> str:
    """Convert the raw file to the import format (dates stay M/D/YYYY) and import it."""
    rows = raw_rows()
    countries = {row["customerID"]: COUNTRIES[row["countryCode"]] for row in rows}
    dealers = write_csv(
        tmp_path / "dealers.csv",
        ["code", "name", "country", "currency"],
        [[code, f"Customer {code}", country, "USD"] for code, country in countries.items()],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ["number", "dealer", "ordered_on", "due_on", "amount", "disputed"],
        [
            [
                r["invoiceNumber"],
                r["customerID"],
                r["InvoiceDate"],
                r["DueDate"],
                r["InvoiceAmount"],
                r["Disputed"],
            ]
            for r in rows
        ],
    )
    payments = write_csv(
        tmp_path / "payments.csv",
        ["reference", "dealer", "received_on", "amount", "order"],
        [
            [
                "S-" + r["invoiceNumber"],
                r["customerID"],
                r["SettledDate"],
                r["InvoiceAmount"],
                r["invoiceNumber"],
            ]
            for r in rows
        ],
    )
    out = StringIO()
    call_command(
        "import_ledger",
        "--dealers",
        str(dealers),
        "--orders",
        str(orders),
        "--payments",
        str(payments),
        "--date-format",
        "%m/%d/%Y",
        stdout=out,
    )
    return out.getvalue()


# The independent computation -----------------------------------------------------------


def paid_on(row: dict[str, str]) -> dt.date:
    """The day the order became fully paid: the payment names it and covers it in full,
    and an allocation counts from the later of the payment and the order."""
    return max(us_date(row["SettledDate"]), us_date(row["InvoiceDate"]))


def open_rows(rows: list[dict[str, str]], day: dt.date) -> list[dict[str, str]]:
    return [r for r in rows if us_date(r["InvoiceDate"]) <= day and not paid_on(r) <= day]


def bucket_of(age: int) -> str:
    for key, low, high in AGING_BUCKETS:
        if (low is None or age >= low) and (high is None or age <= high):
            return key
    raise AssertionError(age)


def expected_aging(rows: list[dict[str, str]], day: dt.date) -> dict[str, tuple[int, Decimal]]:
    counts: Counter[str] = Counter()
    amounts = {key: Decimal("0.00") for key, _low, _high in AGING_BUCKETS}
    for row in open_rows(rows, day):
        key = bucket_of((day - us_date(row["DueDate"])).days)
        counts[key] += 1
        amounts[key] += Decimal(row["InvoiceAmount"])
    return {key: (counts[key], amounts[key]) for key, _low, _high in AGING_BUCKETS}


def two_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def expected_kpis(rows: list[dict[str, str]], start: dt.date, end: dt.date) -> dict:
    def open_amount(day: dt.date, *, not_due_only: bool = False) -> Decimal:
        return sum(
            (
                Decimal(r["InvoiceAmount"])
                for r in open_rows(rows, day)
                if not not_due_only or us_date(r["DueDate"]) >= day
            ),
            Decimal("0.00"),
        )

    sales = sum(
        (Decimal(r["InvoiceAmount"]) for r in rows if start <= us_date(r["InvoiceDate"]) <= end),
        Decimal("0.00"),
    )
    opening = open_amount(start - dt.timedelta(days=1))
    closing = open_amount(end)
    closing_current = open_amount(end, not_due_only=True)
    lateness = [
        max(0, (paid_on(r) - us_date(r["DueDate"])).days)
        for r in rows
        if start <= paid_on(r) <= end
    ]
    days = Decimal((end - start).days + 1)
    return {
        "sales": two_places(sales),
        "opening": two_places(opening),
        "closing": two_places(closing),
        "closing_current": two_places(closing_current),
        "dso": two_places(closing / sales * days),
        "cei": two_places((opening + sales - closing) / (opening + sales - closing_current) * 100),
        "average_days_late": two_places(Decimal(sum(lateness)) / len(lateness)),
    }


# The tests -----------------------------------------------------------------------------


def test_aging_report_equals_the_raw_file_on_four_days(imported):
    assert "dealers.csv: 100 read, 100 created" in imported
    assert "orders.csv: 2466 read, 2466 created" in imported
    assert "payments.csv: 2466 read, 2466 created" in imported
    rows = raw_rows()

    for day in AGING_DAYS:
        report = Order.objects.aging(day)

        expected = expected_aging(rows, day)
        # Guards against passing on two empty reports.
        assert sum(count for count, _amount in expected.values()) > 0
        assert {b["key"]: (b["count"], b["amount"]) for b in report["buckets"]} == expected, day
        assert report["total"] == {
            "count": sum(count for count, _amount in expected.values()),
            "amount": sum((amount for _count, amount in expected.values()), Decimal("0.00")),
        }, day


def test_kpis_for_2013_equal_the_raw_file(imported):
    # The sample's invoices are in dollars: the KPIs of the dollar book need no rate.
    got = kpi_report(start=KPI_START, end=KPI_END, dealers=None, currency="USD")

    expected = expected_kpis(raw_rows(), KPI_START, KPI_END)
    assert {key: got[key] for key in expected} == expected

"""The columns of each file and the checks of one row's values.

Each reader method of `Row` records one problem per bad column and carries on, so that a
row with three mistakes reports all three.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from receivables.importing.files import Cell, Reporter
from receivables.models import ZERO, Payment
from receivables.validation import (
    CENT,
    MAX_MONEY,
    RATE_PLACES,
    country_problem,
    currency_problem,
    money_problem,
    rate_currency_problem,
    rate_problem,
)

MAX_DAYS = 2_147_483_647  # PositiveIntegerField


@dataclass(frozen=True)
class FileSpec:
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    # How a duplicate's key is named when `key` is only part of it (rates: currency and day).
    key_label: str = ""

    @property
    def key_name(self) -> str:
        return self.key_label or self.key


SPECS = {
    "dealers": FileSpec(
        key="code",
        required=("code", "name", "country", "currency"),
        optional=(
            "address",
            "postal_code",
            "city",
            "language",
            "credit_limit",
            "payment_terms_days",
            "collector",
            "region",
            "phone",
        ),
    ),
    "orders": FileSpec(
        key="number",
        required=("number", "dealer", "ordered_on", "due_on", "amount"),
        optional=("disputed", "dispute_reason", "disputed_amount"),
    ),
    "payments": FileSpec(
        key="reference",
        required=("reference", "dealer", "received_on", "amount"),
        optional=("order", "method"),
    ),
    # A rate is known by its currency and day; a duplicate is reported on its day.
    "rates": FileSpec(
        key="on",
        required=("currency", "on", "rate"),
        optional=(),
        key_label="currency and day",
    ),
}


@dataclass
class Record:
    """One data row after checking: model field values and the business keys it names."""

    line: int
    key: str | None
    fields: dict[str, Any]
    refs: dict[str, str | None]


def check_header(kind: str, header: list[str], line: int, report: Reporter) -> list[str] | None:
    spec = SPECS[kind]
    columns = [name.strip().lower() for name in header]
    while columns and not columns[-1]:
        columns.pop()
    ok = True
    for position, name in enumerate(columns, start=1):
        if not name:
            report(line, f"#{position}", "column without a name")
            ok = False
        elif name not in spec.required and name not in spec.optional:
            expected = ", ".join(spec.required + spec.optional)
            report(line, name, f"unknown column (expected some of: {expected})")
            ok = False
        elif columns.index(name) != position - 1:
            report(line, name, "column appears twice")
            ok = False
    for name in spec.required:
        if name not in columns:
            report(line, name, "missing required column")
            ok = False
    return columns if ok else None


AMOUNT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d{1,2}")
RATE_COMMA = re.compile(r"[+-]?(\d+),(\d+)")
TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}


class Row:
    """The cells of one data row; each reader method records a problem per bad column."""

    def __init__(self, line: int, values: dict[str, Cell], date_formats: list[str]) -> None:
        self.line = line
        self.values = values
        self.date_formats = date_formats
        self.problems: list[tuple[str, str]] = []

    def has(self, column: str) -> bool:
        return column in self.values

    def fail(self, column: str, message: str) -> None:
        self.problems.append((column, message))

    def cell(self, column: str, *, required: bool = False) -> Cell:
        value = self.values.get(column)
        if isinstance(value, str):
            value = value.strip() or None
        if value is None and required:
            self.fail(column, "is required")
        return value

    def text(
        self, column: str, *, max_length: int, required: bool = False, keep_zeros: bool = False
    ) -> str:
        value = self.cell(column, required=required)
        if value is None:
            return ""
        if not isinstance(value, str):
            if keep_zeros and isinstance(value, int | float | Decimal):
                self.fail(column, "is a number cell, which loses leading zeros; format it as text")
                return ""
            value = _cell_text(value)
        if len(value) > max_length:
            self.fail(column, f"longer than {max_length} characters")
            return ""
        return value

    def code(self, column: str, problem_of: Callable[[str], str]) -> str:
        """A required code checked by one of `receivables.validation`'s checks."""
        value = self.text(column, max_length=200, required=True)
        problem = problem_of(value) if value else ""
        if problem:
            self.fail(column, problem)
        return value

    def date(self, column: str) -> dt.date | None:
        value = self.cell(column, required=True)
        if value is None:
            return None
        try:
            return _parse_date(value, self.date_formats)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None

    def money(self, column: str, *, required: bool, zero_ok: bool = False) -> Decimal | None:
        value = self.cell(column, required=required)
        if value is None:
            return None
        try:
            amount = _parse_money(value)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None
        problem = money_problem(amount, zero_allowed=zero_ok)
        if problem:
            self.fail(column, f"{amount} {problem}")
            return None
        return amount

    def rate(self, column: str) -> Decimal | None:
        """A required exchange rate, checked by `rate_problem`."""
        value = self.cell(column, required=True)
        if value is None:
            return None
        try:
            rate = _parse_rate(value)
        except ValueError as exc:
            self.fail(column, str(exc))
            return None
        problem = rate_problem(rate)
        if problem:
            self.fail(column, f"{_cell_text(value)} {problem}")
            return None
        return rate.quantize(RATE_PLACES)

    def flag(self, column: str) -> bool:
        value = self.cell(column)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        word = _cell_text(value).lower()
        if word in TRUE_WORDS | FALSE_WORDS:
            return word in TRUE_WORDS
        self.fail(column, f"{value!r} is not true/false, yes/no or 1/0")
        return False

    def days(self, column: str, default: int) -> int:
        value = self.cell(column)
        if value is None:
            return default
        text = _cell_text(value)
        if isinstance(value, bool) or not text.isdigit() or int(text) > MAX_DAYS:
            self.fail(column, f"{value!r} is not a whole number of days")
            return default
        return int(text)


def _cell_text(value: Cell) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        # A spreadsheet shows 30.0 as 30; so do we.
        return format(value, ".15g")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _parse_date(value: Cell, formats: list[str]) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for pattern in formats:
            try:
                return dt.datetime.strptime(value, pattern).date()
            except ValueError:
                continue
        readable = " or ".join(_readable_format(p) for p in formats)
        raise ValueError(f"{value!r} is not a valid date (expected {readable})")
    raise ValueError(f"{value!r} is not a date")


def _readable_format(pattern: str) -> str:
    for code, shown in (("%Y", "YYYY"), ("%y", "YY"), ("%m", "MM"), ("%d", "DD")):
        pattern = pattern.replace(code, shown)
    return pattern


def _parse_money(value: Cell) -> Decimal:
    """An amount with at most two decimals, exactly as written.

    A float from a spreadsheet is read through its 15 significant digits (all a double
    holds reliably), so 55.94 stays 55.94 and 0.1+0.2 computed in Excel becomes 0.3;
    it is never used in arithmetic."""
    if isinstance(value, bool | dt.date | dt.time):
        raise ValueError(f"{value!r} is not an amount")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not an amount")
        amount = Decimal(format(value, ".15g"))
    elif isinstance(value, int | Decimal):
        amount = Decimal(value)
    else:
        text = str(value)
        if DECIMAL_COMMA.fullmatch(text):
            # "12,5" or "12,50" can only be a decimal comma: thousands come in threes.
            text = text.replace(",", ".")
        if not AMOUNT.fullmatch(text):
            raise ValueError(f"{value!r} is not an amount (write it like 1234.50)")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not an amount") from exc
    if abs(amount) > MAX_MONEY:
        raise ValueError(f"{value!r} is too large")
    if amount != amount.quantize(CENT):
        raise ValueError(f"{value!r} has more than 2 decimals")
    return amount.quantize(CENT)


def _parse_rate(value: Cell) -> Decimal:
    """A rate as written; `rate_problem` checks its sign, size and decimals.

    A float from a spreadsheet is read through its 15 significant digits, as amounts are.
    A decimal comma is accepted unless it could be a thousands separator ("1,234")."""
    if isinstance(value, bool | dt.date | dt.time):
        raise ValueError(f"{value!r} is not a rate")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a rate")
        return Decimal(format(value, ".15g"))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    text = str(value)
    comma = RATE_COMMA.fullmatch(text)
    if comma:
        whole, fraction = comma.groups()
        if len(fraction) == 3 and whole.lstrip("0"):
            raise ValueError(
                f"{value!r} could be a decimal comma or a thousands separator; "
                "write it with a decimal point, like 25.125"
            )
        text = text.replace(",", ".")
    if not AMOUNT.fullmatch(text):
        raise ValueError(f"{value!r} is not a rate (write it like 25.125)")
    return Decimal(text)


def clean_dealer(row: Row) -> Record:
    fields: dict[str, Any] = {
        "code": row.text("code", max_length=40, required=True),
        "name": row.text("name", max_length=200, required=True),
        "country": row.code("country", country_problem),
        "currency": row.code("currency", currency_problem),
    }
    text_columns = (
        ("address", 10_000),
        ("postal_code", 20),
        ("city", 100),
        ("region", 100),
        ("phone", 40),
    )
    for column, max_length in text_columns:
        if row.has(column):
            fields[column] = row.text(column, max_length=max_length)
    if row.has("language"):
        fields["language"] = row.text("language", max_length=10) or "en"
    if row.has("credit_limit"):
        fields["credit_limit"] = row.money("credit_limit", required=False, zero_ok=True) or ZERO
    if row.has("payment_terms_days"):
        fields["payment_terms_days"] = row.days("payment_terms_days", default=30)
    refs = {}
    if row.has("collector"):
        refs["collector"] = row.text("collector", max_length=150) or None
    return Record(row.line, fields["code"] or None, fields, refs)


def clean_order(row: Row) -> Record:
    number = row.text("number", max_length=40, required=True, keep_zeros=True)
    dealer = row.text("dealer", max_length=40, required=True)
    fields: dict[str, Any] = {
        "number": number,
        "ordered_on": row.date("ordered_on"),
        "due_on": row.date("due_on"),
        "amount": row.money("amount", required=True),
    }
    if fields["ordered_on"] and fields["due_on"] and fields["due_on"] < fields["ordered_on"]:
        row.fail("due_on", f"{fields['due_on']} is before ordered_on {fields['ordered_on']}")
    if row.has("disputed"):
        fields["disputed"] = row.flag("disputed")
    if row.has("dispute_reason"):
        fields["dispute_reason"] = row.text("dispute_reason", max_length=10_000)
    if row.has("disputed_amount"):
        disputed = row.money("disputed_amount", required=False, zero_ok=True)
        if disputed is not None and fields["amount"] and disputed > fields["amount"]:
            row.fail("disputed_amount", f"{disputed} is more than the amount {fields['amount']}")
        fields["disputed_amount"] = disputed
    refs = {"dealer": dealer or None}
    return Record(row.line, number or None, fields, refs)


def clean_payment(row: Row) -> Record:
    reference = row.text("reference", max_length=60, required=True)
    dealer = row.text("dealer", max_length=40, required=True)
    fields: dict[str, Any] = {
        "reference": reference,
        "received_on": row.date("received_on"),
        "amount": row.money("amount", required=True),
    }
    if row.has("method"):
        method = row.text("method", max_length=20).lower() or Payment.Method.TRANSFER
        if method not in Payment.Method.values:
            row.fail("method", f"{method!r} is not one of {', '.join(Payment.Method.values)}")
        fields["method"] = method
    refs: dict[str, str | None] = {"dealer": dealer or None}
    if row.has("order"):
        refs["order"] = row.text("order", max_length=40, keep_zeros=True) or None
    return Record(row.line, reference or None, fields, refs)


def clean_rate(row: Row) -> Record:
    currency = row.code("currency", rate_currency_problem)
    good_currency = bool(currency) and not currency_problem(currency)
    on = row.date("on")
    fields: dict[str, Any] = {"currency": currency, "on": on, "rate": row.rate("rate")}
    key = f"{currency} {on.isoformat()}" if good_currency and on is not None else None
    return Record(row.line, key, fields, {})

"""Import of the ERP ledger from CSV or XLSX files: dealers, then orders, then payments,
and the exchange rates finance keeps (any of them alone too).

All or nothing: the whole import runs in one transaction and any bad row rolls it back.
Every bad row is still reported (file, line, column, reason), so that the files can be
fixed in one round instead of one error per attempt. Once a row is bad nothing more is
written, but the remaining rows are still checked.

Files are streamed and written in batches of `settings.IMPORT_BATCH_SIZE` rows, so memory
does not grow with the size of the files. The keys already read from each file (to find
duplicates, and to know the dealers and orders a later file may name) are kept in a
temporary table, not in Python.

A column that a file does not have leaves that field alone on existing rows (new rows get
the model default); an empty cell means "empty", or the model default for fields that
cannot be empty. Rows equal to what the database holds are not written, so importing the
same files again writes nothing and adds no history.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from receivables.allocation import forget_open_interval, reallocate_dealers
from receivables.importing.files import Cell, ImportFileError, Reporter, is_blank, open_table
from receivables.importing.rows import (
    SPECS,
    Record,
    Row,
    check_header,
    clean_dealer,
    clean_order,
    clean_payment,
    clean_rate,
)
from receivables.models import Dealer, ExchangeRate, Order, Payment

ISO_DATE = "%Y-%m-%d"
# The files whose rows move money between a dealer's orders: they call for re-allocation.
LEDGER_KINDS = frozenset({"orders", "payments"})
PROGRESS_EVERY = 50_000
# Raw SQL on the temporary table keeps IN lists well below SQLite's parameter limit.
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RowError:
    file: str
    line: int | None
    column: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


@dataclass
class FileResult:
    kind: str
    file: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    dry_run: bool
    files: list[FileResult] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    reallocated: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def import_ledger(
    *,
    dealers: Path | None = None,
    orders: Path | None = None,
    payments: Path | None = None,
    rates: Path | None = None,
    dry_run: bool = False,
    date_formats: Sequence[str] | None = None,
    batch_size: int | None = None,
    progress: Callable[[str], None] | None = None,
    progress_every: int = PROGRESS_EVERY,
    on_rows: Callable[[str, int], None] | None = None,
) -> ImportResult:
    """Import the given files in one transaction; nothing is kept if any row is bad or
    on a dry run. Bad input never raises: it comes back in `ImportResult.errors`.

    `date_formats` are strptime patterns accepted besides ISO dates (default:
    `settings.IMPORT_DATE_FORMATS`). `progress` gets a line of text now and then (the
    command prints it); `on_rows(kind, done)` gets the rows of the file `kind` done so
    far after each batch and at the file's end, for a progress bar. It is called from
    inside the import's transaction, so what it writes must not go to the database."""
    formats = [ISO_DATE, *(settings.IMPORT_DATE_FORMATS if date_formats is None else date_formats)]
    run = _LedgerImport(
        dry_run=dry_run,
        date_formats=list(dict.fromkeys(formats)),
        batch_size=batch_size or settings.IMPORT_BATCH_SIZE,
        progress=progress or (lambda message: None),
        progress_every=progress_every,
        on_rows=on_rows or (lambda kind, done: None),
    )
    paths = {"dealers": dealers, "orders": orders, "payments": payments, "rates": rates}
    return run.run({kind: path for kind, path in paths.items() if path is not None})


class _Rollback(Exception):
    """Raised inside the import's atomic block to undo everything, the temporary table
    included, after a bad row or on a dry run."""


class _LedgerImport:
    def __init__(
        self,
        *,
        dry_run: bool,
        date_formats: list[str],
        batch_size: int,
        progress: Callable[[str], None],
        progress_every: int,
        on_rows: Callable[[str, int], None],
    ) -> None:
        self.result = ImportResult(dry_run=dry_run)
        self.date_formats = date_formats
        self.batch_size = batch_size
        self.progress = progress
        self.progress_every = progress_every
        self.on_rows = on_rows
        self.seen = _SeenKeys()
        # Files that could not be read at all: rows naming their keys are not reported
        # as unknown, which would bury the real error under thousands of copies.
        self.unreadable: set[str] = set()
        # Grows with the number of dealers touched, not with the number of rows.
        self.affected_dealer_ids: set[int] = set()

    @property
    def failed(self) -> bool:
        return bool(self.result.errors)

    def run(self, paths: dict[str, Path]) -> ImportResult:
        try:
            with transaction.atomic():
                self.seen.create()
                for kind in SPECS:
                    if kind in paths:
                        self._import_file(kind, paths[kind])
                if not self.failed and self.affected_dealer_ids:
                    _analyze_ledger()
                    self.result.reallocated = reallocate_dealers(self.affected_dealer_ids)
                self.seen.drop()
                if self.failed or self.result.dry_run:
                    raise _Rollback
        except _Rollback:
            pass
        order = {path.name: index for index, path in enumerate(paths.values())}
        self.result.errors.sort(key=lambda e: (order.get(e.file, 0), e.line or 0))
        return self.result

    def _reporter(self, file: str) -> Reporter:
        def report(line: int | None, column: str, message: str) -> None:
            self.result.errors.append(RowError(file, line, column, message))

        return report

    def _import_file(self, kind: str, path: Path) -> None:
        file_result = FileResult(kind=kind, file=path.name)
        self.result.files.append(file_result)
        report = self._reporter(path.name)
        try:
            with open_table(path, report) as (header_line, header, rows):
                columns = check_header(kind, header, header_line, report)
                if columns is None:
                    self.unreadable.add(kind)
                    return
                records = self._records(kind, columns, rows, file_result, report)
                for batch in _batched(records, self.batch_size):
                    self._check_batch(kind, batch, report)
                    if not self.failed:
                        self._write(kind, batch, file_result, reason=f"import {path.name}")
                    self.on_rows(kind, file_result.read)
                self.on_rows(kind, file_result.read)  # also for a file without rows
                if file_result.read == 0:
                    report(header_line, "", "the file has a header but no rows")
        except ImportFileError as exc:
            report(exc.line, "", str(exc))
            self.unreadable.add(kind)

    def _records(
        self,
        kind: str,
        columns: list[str],
        rows: Iterator[tuple[int, list[Cell]]],
        file_result: FileResult,
        report: Reporter,
    ) -> Iterator[Record]:
        clean = {
            "dealers": clean_dealer,
            "orders": clean_order,
            "payments": clean_payment,
            "rates": clean_rate,
        }
        for line, values in rows:
            file_result.read += 1
            if file_result.read % self.progress_every == 0:
                self.progress(f"{file_result.file}: {file_result.read:,} rows read")
            extra = values[len(columns) :]
            if len(values) < len(columns) or not all(is_blank(v) for v in extra):
                report(line, "", f"{len(values)} values but the header has {len(columns)}")
                continue
            row = Row(line, dict(zip(columns, values, strict=False)), self.date_formats)
            record = clean[kind](row)
            for column, message in row.problems:
                report(line, column, message)
            yield record

    def _check_batch(self, kind: str, batch: list[Record], report: Reporter) -> None:
        spec = SPECS[kind]
        first_lines = self.seen.lines(kind, {r.key for r in batch if r.key is not None})
        new_keys: list[tuple[str, int, str | None]] = []
        for record in batch:
            if record.key is None:
                continue
            first = first_lines.setdefault(record.key, record.line)
            if first == record.line:
                new_keys.append((record.key, record.line, record.refs.get("dealer")))
            else:
                report(
                    record.line,
                    spec.key,
                    f"duplicate {spec.key_name} {record.key!r}, first on line {first}",
                )
        self.seen.add(kind, new_keys)
        if kind == "dealers":
            self._resolve_collectors(batch, report)
        elif kind in ("orders", "payments"):
            self._resolve_dealers(batch, report)
        if kind == "payments":
            self._resolve_orders(batch, report)

    def _resolve_collectors(self, batch: list[Record], report: Reporter) -> None:
        names = {name for r in batch if (name := r.refs.get("collector"))}
        users = dict(
            get_user_model().objects.filter(username__in=names).values_list("username", "id")
        )
        for record in batch:
            if "collector" not in record.refs:
                continue
            name = record.refs["collector"]
            if name and name not in users:
                report(record.line, "collector", f"unknown user {name!r}")
            record.fields["collector_id"] = users.get(name) if name else None

    def _resolve_dealers(self, batch: list[Record], report: Reporter) -> None:
        codes = {code for r in batch if (code := r.refs.get("dealer"))}
        ids = dict(Dealer.objects.filter(code__in=codes).values_list("code", "id"))
        in_file = self.seen.dealer_codes("dealers", codes - ids.keys())
        for record in batch:
            code = record.refs.get("dealer")
            if not code:
                continue
            if code in ids:
                record.fields["dealer_id"] = ids[code]
            elif code not in in_file and "dealers" not in self.unreadable:
                report(record.line, "dealer", f"unknown dealer {code!r}")

    def _resolve_orders(self, batch: list[Record], report: Reporter) -> None:
        numbers = {number for r in batch if (number := r.refs.get("order"))}
        in_db = {
            number: (order_id, dealer_code)
            for number, order_id, dealer_code in Order.objects.filter(
                number__in=numbers
            ).values_list("number", "id", "dealer__code")
        }
        # The orders file, not the database, says whose an order is: it may move orders.
        in_file = self.seen.dealer_codes("orders", numbers)
        for record in batch:
            if "order" not in record.refs:
                continue
            number = record.refs["order"]
            if not number:
                record.fields["order_id"] = None
                continue
            if number in in_db:
                record.fields["order_id"] = in_db[number][0]
            if number in in_file:
                owner = in_file[number]
            elif number in in_db:
                owner = in_db[number][1]
            else:
                if "orders" not in self.unreadable:
                    report(record.line, "order", f"unknown order {number!r}")
                continue
            dealer = record.refs.get("dealer")
            if owner and dealer and owner != dealer:
                report(
                    record.line,
                    "order",
                    f"order {number!r} belongs to dealer {owner!r}, not {dealer!r}",
                )

    def _write(self, kind: str, batch: list[Record], file_result: FileResult, reason: str) -> None:
        model: type[models.Model] = {
            "dealers": Dealer,
            "orders": Order,
            "payments": Payment,
            "rates": ExchangeRate,
        }[kind]
        existing: dict[Any, models.Model]
        if kind == "rates":
            existing = _stored_rates(batch)
        else:
            key_field = SPECS[kind].key
            existing = model._default_manager.in_bulk([r.key for r in batch], field_name=key_field)
        to_create: list[models.Model] = []
        to_update: list[models.Model] = []
        changed_fields: set[str] = set()
        now = timezone.now()
        for record in batch:
            current = existing.get(record.key)
            if current is None:
                to_create.append(model(**record.fields))
                file_result.created += 1
                if kind in LEDGER_KINDS:
                    self.affected_dealer_ids.add(record.fields["dealer_id"])
                continue
            changed = {
                name for name, value in record.fields.items() if getattr(current, name) != value
            }
            if not changed:
                file_result.unchanged += 1
                continue
            if kind in LEDGER_KINDS:
                # Both the old and the new dealer when an order or payment moves.
                self.affected_dealer_ids.add(current.dealer_id)  # type: ignore[attr-defined]
                self.affected_dealer_ids.add(record.fields["dealer_id"])
            for name in changed:
                setattr(current, name, record.fields[name])
            if kind == "orders" and "ordered_on" in changed:
                # The reallocation at the end of the import writes it again.
                changed |= set(forget_open_interval(current))  # type: ignore[arg-type]
            # bulk_update() skips auto_now.
            current.updated_at = now  # type: ignore[attr-defined]
            changed_fields |= changed
            to_update.append(current)
            file_result.updated += 1
        if to_create:
            bulk_create_with_history(
                to_create, model, batch_size=self.batch_size, default_change_reason=reason
            )
        if to_update:
            bulk_update_with_history(
                to_update,
                model,
                sorted(changed_fields | {"updated_at"}),
                batch_size=self.batch_size,
                default_change_reason=reason,
            )


class _SeenKeys:
    """The keys read so far from each file, with their line and (for orders) dealer.

    A temporary table keeps duplicate detection in constant memory however long the file;
    it belongs to this connection and disappears with the import's transaction."""

    table = "receivables_import_seen_keys"

    def create(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} ("
                " kind VARCHAR(20) NOT NULL,"
                " business_key VARCHAR(200) NOT NULL,"
                " line_number INTEGER NOT NULL,"
                " dealer_code VARCHAR(200) NULL,"
                " PRIMARY KEY (kind, business_key))"
            )

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {self.table}")

    def add(self, kind: str, rows: Sequence[tuple[str, int, str | None]]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.table} (kind, business_key, line_number, dealer_code)"
                " VALUES (%s, %s, %s, %s)",
                [(kind, key, line, dealer) for key, line, dealer in rows],
            )

    def _select(self, column: str, kind: str, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        keys = list(keys)
        with connection.cursor() as cursor:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start : start + LOOKUP_CHUNK]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT business_key, {column} FROM {self.table}"
                    f" WHERE kind = %s AND business_key IN ({marks})",
                    [kind, *chunk],
                )
                found.update(cursor.fetchall())
        return found

    def lines(self, kind: str, keys: Iterable[str]) -> dict[str, int]:
        return self._select("line_number", kind, keys)

    def dealer_codes(self, kind: str, keys: Iterable[str]) -> dict[str, str | None]:
        return self._select("dealer_code", kind, keys)


def _stored_rates(batch: list[Record]) -> dict[Any, models.Model]:
    """The stored rates of this batch by the key `clean_rate` gives them ("CZK 2026-01-05").

    One query by currency and the batch's span of days, a handful of parameters however
    large the batch (an IN list of (currency, day) pairs could exceed SQLite's limit)."""
    days = [r.fields["on"] for r in batch]
    stored = ExchangeRate.objects.filter(
        currency__in={r.fields["currency"] for r in batch},
        on__gte=min(days),
        on__lte=max(days),
    )
    keys = {r.key for r in batch}
    found: dict[Any, models.Model] = {}
    for rate in stored:
        key = f"{rate.currency} {rate.on.isoformat()}"
        if key in keys:
            found[key] = rate
    return found


def _batched(items: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


# What the allocation rule and the kept figures read, per dealer.
LEDGER_TABLES = ("receivables_dealer", "receivables_order", "receivables_payment")


def _analyze_ledger() -> None:
    """Give PostgreSQL's planner statistics of the rows this import wrote before the
    allocation rule reads them back per dealer. Inside the import's transaction it sees
    them; autovacuum cannot until the commit. Without it, a first import of a large book
    into an empty database reads every dealer's figures with plans made for empty tables
    (a scan of all orders per dealer: hours instead of minutes)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table in LEDGER_TABLES:
            cursor.execute(f"ANALYZE {table}")

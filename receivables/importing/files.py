"""Reading CSV and XLSX files as a stream of (line, values) rows.

CSV is UTF-8 with or without a byte order mark, delimited by commas or semicolons (told
from the header line). XLSX is read with openpyxl in read-only mode, one row at a time;
its cells keep their types (dates, numbers), which `rows.py` accepts as they come.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import openpyxl

Cell = str | int | float | Decimal | dt.datetime | dt.date | dt.time | bool | None
# report(line, column, message)
Reporter = Callable[[int | None, str, str], None]
# (header line, header, rows as (line, values))
Table = tuple[int, list[str], Iterator[tuple[int, list[Cell]]]]


class ImportFileError(Exception):
    """The file as a whole cannot be read: empty, not UTF-8, not CSV or XLSX."""

    def __init__(self, message: str, line: int | None = 1) -> None:
        super().__init__(message)
        self.line = line


@contextlib.contextmanager
def open_table(path: Path, report: Reporter) -> Iterator[Table]:
    """Yield (header line, header, rows) of a CSV or XLSX file; rows are (line, values)
    with blank rows skipped. The format is told from the content, not the file name."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"cannot open the file: {exc.strerror}", line=None) from exc
    with handle:
        start = handle.read(8)
        handle.seek(0)
        if start.startswith(b"PK\x03\x04"):
            workbook = _load_workbook(handle)
            try:
                yield _xlsx_table(workbook)
            finally:
                workbook.close()
        elif start.startswith(b"\xd0\xcf\x11\xe0"):
            raise ImportFileError("old Excel .xls files cannot be read; save as .xlsx or CSV")
        elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise ImportFileError("the file is UTF-16; save it as UTF-8")
        else:
            yield _csv_table(handle, report)


def _load_workbook(handle: BinaryIO) -> Any:
    try:
        return openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportFileError(f"not a readable XLSX file ({exc})") from exc


def _xlsx_table(workbook: Any) -> Table:
    rows = enumerate(workbook.worksheets[0].iter_rows(values_only=True), start=1)
    found = next(((n, values) for n, values in rows if not all(map(is_blank, values))), None)
    if found is None:
        raise ImportFileError("the file is empty")
    header_line, header_cells = found
    header = ["" if v is None else str(v) for v in header_cells]

    def data() -> Iterator[tuple[int, list[Cell]]]:
        for line, cells in rows:
            if not all(is_blank(v) for v in cells):
                # Read-only sheets may end a row at its last filled cell.
                yield line, [*cells, *[None] * (len(header) - len(cells))]

    return header_line, header, data()


def _csv_table(handle: BinaryIO, report: Reporter) -> Table:
    lines = _utf8_lines(handle, report)
    peeked: list[str] = []
    for text in lines:
        peeked.append(text)
        if text.strip():
            break
    else:
        raise ImportFileError("the file is empty")
    # The header names no commas or semicolons, so whichever it has is the delimiter.
    delimiter = ";" if peeked[-1].count(";") > peeked[-1].count(",") else ","
    reader = csv.reader(itertools.chain(peeked, lines), delimiter=delimiter)
    try:
        header = next((row for row in reader if any(v.strip() for v in row)), None)
    except csv.Error as exc:
        raise ImportFileError(f"cannot read the header: {exc}", line=reader.line_num) from exc
    if header is None:
        raise ImportFileError("the file is empty")
    header_line = reader.line_num

    def data() -> Iterator[tuple[int, list[Cell]]]:
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                report(reader.line_num, "", f"cannot read this CSV line: {exc}")
                return
            if any(v.strip() for v in values):
                yield line, list(values)

    return header_line, header, data()


def _utf8_lines(handle: BinaryIO, report: Reporter) -> Iterator[str]:
    """Decode line by line so that a wrong encoding is reported with its line."""
    for number, raw in enumerate(handle, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            report(
                number,
                "",
                f"not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start + 1}); "
                "save the file as UTF-8",
            )
            yield raw.decode("utf-8", errors="replace")


def is_blank(value: Cell) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())

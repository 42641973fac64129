"""`python manage.py import_ledger --dealers F --orders F --payments F --rates F [--dry-run]`
(docs/API.md "Commands"), any of the files alone too. The work is done by
`receivables.importing.import_ledger`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from receivables.importing import import_ledger


class Command(BaseCommand):
    help = (
        "Import dealers, orders, payments and exchange rates from CSV or XLSX files, all or "
        "nothing: any bad row aborts the import and every bad row is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dealers", type=Path, help="CSV or XLSX file of dealers")
        parser.add_argument("--orders", type=Path, help="CSV or XLSX file of orders")
        parser.add_argument("--payments", type=Path, help="CSV or XLSX file of payments")
        parser.add_argument(
            "--rates",
            type=Path,
            help="CSV or XLSX file of exchange rates (columns currency, on, rate: units of "
            "the reporting currency for one unit of the currency)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count, but write nothing"
        )
        parser.add_argument(
            "--date-format",
            help="strptime pattern accepted besides YYYY-MM-DD, e.g. %%d.%%m.%%Y "
            "(default: the IMPORT_DATE_FORMATS setting)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["dealers"] or options["orders"] or options["payments"] or options["rates"]):
            raise CommandError("Give at least one of --dealers, --orders, --payments, --rates.")
        result = import_ledger(
            dealers=options["dealers"],
            orders=options["orders"],
            payments=options["payments"],
            rates=options["rates"],
            dry_run=options["dry_run"],
            date_formats=[options["date_format"]] if options["date_format"] else None,
            progress=self.stdout.write,
        )
        if result.errors:
            for error in result.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(result.errors)} problem(s) found; nothing was imported.")
        for file in result.files:
            self.stdout.write(
                f"{file.file}: {file.read} read, {file.created} created, "
                f"{file.updated} updated, {file.unchanged} unchanged"
            )
        if result.dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"Imported; {result.reallocated} allocation(s) written.")
            )

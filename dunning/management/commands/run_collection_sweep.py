"""`python manage.py run_collection_sweep [--as-of YYYY-MM-DD]`: the daily sweep that
Celery beat runs at 06:00, run in this process for one business date."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dunning.sweep import BATCH_SIZE, BatchResult, BatchSizeMismatch, business_today, run_sweep


def _iso_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"'{value}' is not a date as YYYY-MM-DD") from exc


class Command(BaseCommand):
    help = (
        "Run the daily collection sweep for a business date (default: today in "
        "BUSINESS_TIME_ZONE). Running it twice for the same date does nothing the second time."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--as-of", type=_iso_date, default=None, help="Business date, YYYY-MM-DD"
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"Dealers per batch and transaction (default {BATCH_SIZE})",
        )

    def handle(self, *args: Any, as_of: dt.date | None, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        today = as_of or business_today()
        self.stdout.write(f"Sweeping {today:%Y-%m-%d} in batches of {batch_size} dealers.")
        try:
            summary = run_sweep(today=today, batch_size=batch_size, progress=self._progress)
        except BatchSizeMismatch as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(summary.describe()))

    def _progress(self, result: BatchResult) -> None:
        self.stdout.write(f"  {result.describe()}")

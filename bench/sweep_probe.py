"""The daily-sweep measurement of `make bench`, standalone so that it can measure any tree.

Run it as `python /abs/path/bench/sweep_probe.py --date YYYY-MM-DD` with the working
directory set to the tree to measure (DATABASE_URL and DJANGO_SETTINGS_MODULE set): it
puts that tree first on sys.path, so the code measured is that tree's, even one that has
no bench/ of its own. It therefore uses only what every tree since the sweep exists has:
django.setup(), `run_sweep(today=...)` and the models it deletes and counts. It prints its
result as one JSON line on stdout.

The measurement: empty the workflow tables, so that the sweep meets a book it has never
seen, then sweep three mornings: the day before the date (every overdue dealer gets an
account, moves and letters), the date (an ordinary next day), and the date again (which
must do nothing). Each is timed and its queries counted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path


def workflow_models() -> list:
    from dunning.models import (
        Alert,
        CollectionAccount,
        Escalation,
        Letter,
        StageChange,
        SweepBatch,
        Task,
    )

    return [StageChange, Escalation, Letter, Alert, Task, SweepBatch, CollectionAccount]


def clear_workflow() -> None:
    """Delete what the sweep writes, so that every measurement starts from the same book.
    On PostgreSQL, vacuum afterwards: the next sweep should not pay for a previous run's
    dead rows (the baseline's, when two trees are measured in one run)."""
    from django.db import connection

    for model in workflow_models():
        model.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def measure(date: dt.date) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dunning.models import Letter, StageChange, SweepBatch
    from dunning.sweep import run_sweep
    from receivables.models import Dealer

    clear_workflow()

    def timed(day: dt.date) -> tuple[float, int]:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run_sweep(today=day)
            seconds = time.perf_counter() - started
        return seconds, len(queries)

    first_s, first_q = timed(date - dt.timedelta(days=1))
    day_s, day_q = timed(date)
    again_s, again_q = timed(date)
    return {
        "dealers": Dealer.objects.count(),
        "batches": SweepBatch.objects.filter(business_date=date).count(),
        "first_s": first_s,
        "first_queries": first_q,
        "seconds": day_s,
        "queries": day_q,
        "second_run_s": again_s,
        "second_run_queries": again_q,
        "moves": StageChange.objects.count(),
        "letters": Letter.objects.count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat)
    args = parser.parse_args()

    # sys.path[0] is this script's directory, which may belong to another tree.
    tree = Path.cwd().resolve()
    sys.path[0] = str(tree)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import dunning.sweep

    module = Path(dunning.sweep.__file__).resolve()
    if not module.is_relative_to(tree):
        raise SystemExit(f"dunning.sweep came from {module}, not from the tree {tree}")

    result = measure(args.date)
    result["tree"] = str(tree)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

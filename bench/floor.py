"""The floors the reports are measured against: "one SQL aggregate over a flat copy of the
same orders".

For each date, a flat table is built first, not timed (`build_flat`): one row per order of
the book, no joins needed to read it, with its dealer's currency, its dates, its amount,
and its open amount precomputed from the allocations alone (the amount less what was
applied by the end of the day; 0 once settled): at the date itself, and at the day before
the KPIs' period that ends on it. Then one aggregate query over that table is timed
(median of FLOOR_RUNS after one warm-up, on the bench process's connection): the aging
buckets per currency (`aging_floor`), or the KPIs' sums per currency (`kpi_floor`).

The flat table knows nothing of the kept columns (`settled_on`, `paid_from`) nor of any
index: it is the cost of adding up the answer once every order's open amount is known, so
a ratio near 1 means the report spends its time on the sum, not on finding what is open.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

FLOOR_RUNS = 5
FLAT = "bench_floor_orders"
HALF_CENT = Decimal("0.005")

# The open amount of each order at the end of the day and of the day before the period,
# from its allocations alone.
BUILD_FLAT_SQL = f"""
CREATE TEMPORARY TABLE {FLAT} AS
SELECT d.currency, o.ordered_on, o.due_on, o.amount,
       o.amount - COALESCE(a.paid, 0) AS open_amount,
       o.amount - COALESCE(a.paid_before, 0) AS open_before
FROM receivables_order o
JOIN receivables_dealer d ON d.id = o.dealer_id
LEFT JOIN (
    SELECT order_id,
           SUM(amount) FILTER (WHERE applied_on <= %(d)s) AS paid,
           SUM(amount) FILTER (WHERE applied_on <= %(before)s) AS paid_before
    FROM receivables_allocation
    GROUP BY order_id
) AS a ON a.order_id = o.id
"""

AGING_FLOOR_SQL = f"""
SELECT currency, bucket, COUNT(*), SUM(open_amount)
FROM (
    SELECT currency, open_amount,
           CASE
               WHEN due_on >= %(d)s THEN 'current'
               WHEN due_on >= %(d)s - 30 THEN '1-30'
               WHEN due_on >= %(d)s - 60 THEN '31-60'
               WHEN due_on >= %(d)s - 90 THEN '61-90'
               WHEN due_on >= %(d)s - 180 THEN '91-180'
               WHEN due_on >= %(d)s - 365 THEN '181-365'
               WHEN due_on >= %(d)s - 730 THEN '366-730'
               ELSE '731+'
           END AS bucket
    FROM {FLAT}
    WHERE ordered_on <= %(d)s AND open_amount >= {HALF_CENT}
) AS open_orders
GROUP BY currency, bucket
"""

KPI_FLOOR_SQL = f"""
SELECT currency,
       COALESCE(SUM(amount) FILTER (WHERE ordered_on >= %(start)s AND ordered_on <= %(d)s), 0),
       COALESCE(SUM(open_before) FILTER (
           WHERE ordered_on <= %(before)s AND open_before >= {HALF_CENT}), 0),
       COALESCE(SUM(open_amount) FILTER (
           WHERE ordered_on <= %(d)s AND open_amount >= {HALF_CENT}), 0),
       COALESCE(SUM(open_amount) FILTER (
           WHERE ordered_on <= %(d)s AND open_amount >= {HALF_CENT} AND due_on >= %(d)s), 0)
FROM {FLAT}
GROUP BY currency
"""

KPI_NAMES = ("sales", "opening", "closing", "closing_current")


def build_flat(day: dt.date, start: dt.date) -> float:
    """(Re)build the flat copy of the orders for `day` and the period [start, day]; returns
    the seconds it took (reported, never part of a floor)."""
    from django.db import connection

    started = time.perf_counter()
    params = {"d": day, "before": start - dt.timedelta(days=1)}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLAT}")
        cursor.execute(BUILD_FLAT_SQL, params)
        cursor.execute(f"ANALYZE {FLAT}")
    return time.perf_counter() - started


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    run()
    timings, result = [], None
    for _ in range(FLOOR_RUNS):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, result


def aging_floor(day: dt.date) -> dict:
    """The aging buckets per currency from the flat copy built for `day`: the median
    milliseconds and {(currency, bucket): (count, amount)}."""
    from django.db import connection

    def run() -> dict:
        with connection.cursor() as cursor:
            cursor.execute(AGING_FLOOR_SQL, {"d": day})
            return {(cur, key): (count, amount) for cur, key, count, amount in cursor.fetchall()}

    median_ms, buckets = _timed(run)
    return {"median_ms": median_ms, "buckets": buckets}


def kpi_floor(start: dt.date, day: dt.date) -> dict:
    """Sales in [start, day], opening (open at the end of the day before start), closing
    and closing_current (open at the end of `day`, and its part not yet due) per currency
    from the flat copy built for them: the median milliseconds and {currency: {name:
    amount}}."""
    from django.db import connection

    params = {"start": start, "d": day, "before": start - dt.timedelta(days=1)}

    def run() -> dict:
        with connection.cursor() as cursor:
            cursor.execute(KPI_FLOOR_SQL, params)
            return {row[0]: dict(zip(KPI_NAMES, row[1:], strict=True)) for row in cursor}

    median_ms, sums = _timed(run)
    return {"median_ms": median_ms, "sums": sums}


def drop_flat() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLAT}")

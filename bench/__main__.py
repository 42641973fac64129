"""`make bench`: the ledger and the sweep at the scale of a real book, on PostgreSQL.

Scales IBM's late-payment sample (tests/data/ibm-late-payments.csv, kept in the repository;
tests/data/README.md says where it comes from) to 986,400 orders of 40,000 dealers by
cloning each customer 400 times (the sample's two years of invoices once per clone, or
--copies times, each copy two years before the next), shifting dates so that the book ends
on BENCH_DATE, and leaving some clones' recent invoices unpaid so
that every aging bucket has something in it. Then measures:

- the import (`import_ledger` as a subprocess): rows per second and peak memory;
- the aging report through the API next to its floor, one SQL aggregate computing the
  same buckets over a flat copy of the same orders with their open amounts precomputed
  (bench/floor.py), on the same database, as a ratio from the same run;
- the dealer endpoint's latency and query count;
- the daily sweep over all dealers: time and query count of three mornings, measured by
  bench/sweep_probe.py in a subprocess (after `manage.py migrate` of this tree);
- with --pages, every page and the API's reports through gunicorn, as a manager and as a
  collector who owns 1,000 dealers, next to the login form as a baseline and to the
  floors of the aging report and the KPIs (bench/pages.py and bench/floor.py say how);
- with --letters, 1,000 reminder letters rendered to PDF and stored, one document per
  letter next to one per batch, with one process and with two (bench/letters.py says
  how; on a SQLite database of its own, not the book).

Results are appended to docs/BENCHMARKS.md with the machine and the date.

Options:
  --clones N       clones of each IBM customer (default 400)
  --copies N       copies of each clone's two years of invoices (default 1)
  --skip-import    reuse the loaded database (it is still migrated to this tree)
  --no-write       print the report only, do not append it to docs/BENCHMARKS.md
  --sweep-only     measure the sweep only, not the API
  --pages          also time the pages and reports (bench/pages.py), after the sweep: it
                   creates the users bench-manager and bench-collector, gives the collector
                   the first 1,000 dealers, sweeps BENCH_DATE if it has not been swept, and
                   serves this tree with gunicorn on a free port
  --pages-only     time the pages and reports only: no API, no sweep measurement
  --page-requests N  timed requests per page (default 30; 3 for a page slower than 30 s)
  --pages-baseline REV  also time every page and report as served by a git revision (the
                   code before a change), on the same database in the same run, before
                   this tree, and show both side by side (REV is checked out like --baseline;
                   its code runs on this tree's schema). No floors for REV.
  --baseline-page-requests N  timed requests per page for REV (default 5)
  --baseline REV   also sweep a git revision (HEAD~5, a commit id) on the same database
                   in the same run, before this tree, and show both side by side. REV is
                   checked out with `git worktree add --detach var/bench/baseline-<sha>`
                   (reused when present) and measured by this tree's sweep_probe.py, so
                   REV needs no bench code of its own; its code must run on this tree's
                   schema (it ignores tables and columns it does not know).
  --letters        also time rendering letters (bench/letters.py), after the rest
  --letters-only   time rendering letters only: no PostgreSQL book, import, API or sweep
  --letters-count N  reminders rendered each way (default 1000)
  --letters-batch N  letters per batch (default dunning.tasks.RENDER_BATCH_SIZE)
  --letters-fonttools N  also render N letters each way with WeasyPrint subsetting fonts
                   with fontTools, as where libharfbuzz-subset is missing (default 200;
                   0: not)
The database is BENCH_DATABASE_URL (default postgres://root@127.0.0.1:5432/receivables_bench).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IBM = ROOT / "tests" / "data" / "ibm-late-payments.csv"
PROBE = ROOT / "bench" / "sweep_probe.py"
WORK = ROOT / "var" / "bench"
BENCH_DATE = dt.date(2026, 11, 20)
DEFAULT_DB = "postgres://root@127.0.0.1:5432/receivables_bench"
IBM_END = dt.date(2013, 12, 31)


def _mdy(text: str) -> dt.date:
    month, day, year = (int(part) for part in text.split("/"))
    return dt.date(year, month, day)


def generate(clones: int, copies: int = 1) -> dict[str, Path]:
    """Write the scaled dealers, orders and payments CSV files (streamed)."""
    WORK.mkdir(parents=True, exist_ok=True)
    with IBM.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    countries = {"391": "DE", "406": "PL", "770": "NL", "818": "CZ", "897": "AT"}
    customers = sorted({(r["customerID"], r["countryCode"]) for r in rows})
    paths = {name: WORK / f"{name}.csv" for name in ("dealers", "orders", "payments")}
    with (
        paths["dealers"].open("w", newline="", encoding="utf-8") as dealers_f,
        paths["orders"].open("w", newline="", encoding="utf-8") as orders_f,
        paths["payments"].open("w", newline="", encoding="utf-8") as payments_f,
    ):
        dealers = csv.writer(dealers_f)
        orders = csv.writer(orders_f)
        payments = csv.writer(payments_f)
        dealers.writerow(["code", "name", "country", "currency", "credit_limit", "region"])
        orders.writerow(["number", "dealer", "ordered_on", "due_on", "amount", "disputed"])
        payments.writerow(["reference", "dealer", "received_on", "amount", "order"])
        for clone in range(clones):
            for customer, country in customers:
                dealers.writerow(
                    [
                        f"{customer}-{clone:03d}",
                        f"Dealer {customer} #{clone}",
                        countries.get(country, "DE"),
                        "EUR",
                        "2500.00",
                        f"Region {clone % 12}",
                    ]
                )
            # Each clone ends at a different week so that dates spread over the calendar.
            end_shift = (BENCH_DATE - IBM_END).days - (clone % 52) * 7
            for copy in range(copies):
                shift = dt.timedelta(days=end_shift - 728 * (copies - 1 - copy))
                for r in rows:
                    number = f"{r['invoiceNumber']}-{clone:03d}{copy}"
                    dealer = f"{r['customerID']}-{clone:03d}"
                    invoiced = _mdy(r["InvoiceDate"]) + shift
                    due = _mdy(r["DueDate"]) + shift
                    settled = _mdy(r["SettledDate"]) + shift
                    orders.writerow(
                        [number, dealer, invoiced, due, r["InvoiceAmount"], r["Disputed"]]
                    )
                    # Some clones stopped paying: a year ago, or two months ago.
                    unpaid_since = {0: 400, 1: 60}.get(clone % 5)
                    if unpaid_since and settled > BENCH_DATE - dt.timedelta(days=unpaid_since):
                        continue
                    if settled > BENCH_DATE:
                        continue
                    payments.writerow([f"S{number}", dealer, settled, r["InvoiceAmount"], number])
    return paths


def reset_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def run_import(paths: dict[str, Path], env: dict[str, str]) -> dict:
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "import_ledger",
            "--dealers",
            str(paths["dealers"]),
            "--orders",
            str(paths["orders"]),
            "--payments",
            str(paths["payments"]),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit("import_ledger failed")
    rows = sum(sum(1 for _ in p.open(encoding="utf-8")) - 1 for p in paths.values())
    return {
        "rows": rows,
        "seconds": seconds,
        "rate": rows / seconds,
        "peak_mib": max(peak_kib, before) / 1024,
        "output_tail": proc.stdout.strip().splitlines()[-6:],
    }


def best_of(runs: int, fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def measure_api() -> dict:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from receivables.models import ApiToken, Dealer

    user, _ = User.objects.get_or_create(username="bench-manager")
    user.groups.add(Group.objects.get(name="manager"))
    _, token = ApiToken.issue(user)
    client = Client(HTTP_HOST="localhost")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def api_aging():  # type: ignore[no-untyped-def]
        response = client.get(f"/api/v1/reports/aging?as_of={BENCH_DATE}", **auth)
        assert response.status_code == 200, response.content[:500]
        return response.json()

    from bench import floor
    from bench.pages import quarter_ending

    api_aging()  # warm caches
    api_seconds, api_result = best_of(5, api_aging)
    floor.build_flat(BENCH_DATE, quarter_ending(BENCH_DATE)[0])
    found = floor.aging_floor(BENCH_DATE)
    floor.drop_flat()
    raw_seconds = found["median_ms"] / 1000
    for bucket in api_result["buckets"]:  # type: ignore[index]
        rows = [row for (_cur, key), row in found["buckets"].items() if key == bucket["key"]]
        count = sum(c for c, _amount in rows)
        amount = sum((a or Decimal("0.00") for _c, a in rows), Decimal("0.00"))
        assert bucket["count"] == count, (bucket, count)
        if len({cur for cur, _key in found["buckets"]}) == 1:
            assert Decimal(bucket["amount"]) == amount, (bucket, amount)

    codes = list(Dealer.objects.order_by("?").values_list("code", flat=True)[:50])
    latencies, counts = [], []
    for code in codes:
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(f"/api/v1/dealers/{code}", **auth)
            latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:300]
        counts.append(len(queries))
    return {
        "aging_api_s": api_seconds,
        "aging_sql_s": raw_seconds,
        "ratio": api_seconds / raw_seconds,
        "aging_total": api_result["total"],  # type: ignore[index]
        "dealer_median_ms": statistics.median(latencies) * 1000,
        "dealer_p95_ms": sorted(latencies)[int(len(latencies) * 0.95) - 1] * 1000,
        "dealer_queries": sorted(set(counts)),
    }


def probe_env(tree: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(tree),
    }


def measure_sweep(tree: Path = ROOT) -> dict:
    """The sweep on three mornings: the first one the workflow ever sees (every overdue
    dealer gets an account, moves and letters), an ordinary next day, and that same day
    run again (which must do nothing). Measured by bench/sweep_probe.py of this tree, run
    in `tree` (this one or a baseline's checkout) on the same database and Python."""
    proc = subprocess.run(
        [sys.executable, str(PROBE), "--date", BENCH_DATE.isoformat()],
        cwd=tree,
        env=probe_env(tree),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"the sweep probe failed in {tree}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if Path(result.pop("tree")) != tree.resolve():
        raise SystemExit(f"the sweep probe measured another tree than {tree}: {result}")
    return result


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve(rev: str) -> tuple[str, str]:
    """The full and the short commit id of a git revision."""
    sha = git("rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    return sha, git("rev-parse", "--short", sha)


def baseline_tree(sha: str, short: str) -> Path:
    """Check the commit out under var/bench/baseline-<short sha>, or reuse that checkout."""
    tree = WORK / f"baseline-{short}"
    if tree.exists():
        checked_out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True
        ).stdout.strip()
        if checked_out != sha:
            raise SystemExit(f"{tree} exists but is not a checkout of {sha}: remove it")
        return tree
    WORK.mkdir(parents=True, exist_ok=True)
    # A checkout deleted by hand (make clean) stays registered: add it again with --force.
    registered = f"worktree {tree}" in git("worktree", "list", "--porcelain").splitlines()
    force = ["--force"] if registered else []
    git("worktree", "add", *force, "--detach", str(tree), sha)
    return tree


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, PostgreSQL {pg}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--clones", type=int, default=400)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--sweep-only", action="store_true", help="skip the API measurements")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the sweep of this git revision, on the same database",
    )
    parser.add_argument("--pages", action="store_true", help="also time the pages and reports")
    parser.add_argument("--pages-only", action="store_true", help="time the pages and reports only")
    parser.add_argument("--page-requests", type=int, default=30, metavar="N")
    parser.add_argument("--pages-baseline", metavar="REV")
    parser.add_argument("--baseline-page-requests", type=int, default=5, metavar="N")
    parser.add_argument("--letters", action="store_true", help="also time rendering letters")
    parser.add_argument("--letters-only", action="store_true", help="time rendering letters only")
    parser.add_argument("--letters-count", type=int, default=1000, metavar="N")
    parser.add_argument("--letters-batch", type=int, default=None, metavar="N")
    parser.add_argument("--letters-fonttools", type=int, default=200, metavar="N")
    args = parser.parse_args()
    if args.letters_only:
        if args.pages_only or args.sweep_only or args.baseline or args.pages_baseline:
            parser.error("--letters-only measures nothing else")
        write_report(time_letters(args), dry_run=args.no_write)
        return
    if args.pages_only and (args.sweep_only or args.baseline):
        parser.error("--pages-only measures no sweep: not with --sweep-only or --baseline")
    if args.page_requests < 1:
        parser.error("--page-requests must be at least 1")

    url = os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Resolved before the import, so that a bad revision fails at once, not after the load.
    baseline = resolve(args.baseline) if args.baseline else None
    pages_baseline = resolve(args.pages_baseline) if args.pages_baseline else None

    results: dict = {}
    if not args.skip_import:
        print(f"generating {args.clones} clones of the IBM ledger ...", flush=True)
        paths = generate(args.clones, args.copies)
        reset_database(url)
        migrate(env)
        print("importing ...", flush=True)
        results["import"] = run_import(paths, env)
        print(results["import"], flush=True)
    else:
        # A database loaded by older code gets this tree's tables; a baseline's older
        # code ignores the tables and columns it does not know.
        migrate(env)

    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    from receivables.models import Dealer, Order

    results["scale"] = {"dealers": Dealer.objects.count(), "orders": Order.objects.count()}
    print(results["scale"], flush=True)
    if not (args.sweep_only or args.pages_only):
        print("measuring the API ...", flush=True)
        results["api"] = measure_api()
        print(results["api"], flush=True)
    if baseline is not None:
        sha, short = baseline
        tree = baseline_tree(sha, short)
        # Emptied by this tree's code first: the baseline's may not know every table
        # that refers to the workflow's (its delete would then break a foreign key).
        from bench.sweep_probe import clear_workflow

        clear_workflow()
        print(f"sweeping with the baseline {args.baseline} ({short}) in {tree} ...", flush=True)
        results["baseline"] = {
            "rev": args.baseline,
            "commit": sha,
            "sha": short,
            "sweep": measure_sweep(tree),
        }
        print(results["baseline"], flush=True)
    if not args.pages_only:
        print("sweeping ...", flush=True)
        results["sweep"] = measure_sweep()
        print(results["sweep"], flush=True)
    if args.pages or args.pages_only:
        # After the sweep: its probe empties the workflow tables and sweeps BENCH_DATE again.
        from bench import pages

        if pages_baseline is not None:
            sha, short = pages_baseline
            tree = baseline_tree(sha, short)
            print(f"timing the pages of {args.pages_baseline} ({short}) in {tree} ...", flush=True)
            results["pages_baseline"] = {
                "rev": args.pages_baseline,
                "sha": short,
                "pages": pages.measure(
                    tree,
                    url,
                    BENCH_DATE,
                    requests=args.baseline_page_requests,
                    floors=False,
                ),
            }
        print("timing the pages ...", flush=True)
        results["pages"] = pages.measure(ROOT, url, BENCH_DATE, requests=args.page_requests)
        print(json.dumps(results["pages"]), flush=True)
    if args.letters:
        results["letters"] = time_letters(args)
    write_report(render(results, machine()), dry_run=args.no_write)


def time_letters(args: argparse.Namespace) -> dict:
    """bench/letters.py in a process of its own (its own database)."""
    from bench import letters

    print("timing the letters ...", flush=True)
    return letters.run_in_subprocess(args.letters_count, args.letters_batch, args.letters_fonttools)


def write_report(report: str | dict, *, dry_run: bool) -> None:
    """Print the report (the letters' results alone: their section) and append it to
    docs/BENCHMARKS.md."""
    if isinstance(report, dict):
        from bench import letters

        report = letters.report(report)
    print(report)
    if not dry_run:
        target = ROOT / "docs" / "BENCHMARKS.md"
        existing = target.read_text() if target.exists() else HEADER
        target.write_text(existing.rstrip() + "\n\n" + report)
        print(f"appended to {target}")


HEADER = """# Benchmarks

`make bench` loads IBM's late-payment sample scaled to a million orders into PostgreSQL
and measures the import, the aging report (through the API and as one SQL aggregate over
a flat copy of the same orders, same database, same run), the dealer endpoint and the
daily sweep, with --pages every page and report through gunicorn, and with --letters (or
--letters-only) reminder letters rendered to PDF. Each run adds a section below; the
newest is last. Timings are wall-clock seconds, best of 5 where repeated.
"""


def change(before: float, after: float) -> str:
    if before == 0:
        return "n/a" if after else "0%"
    return f"{(after - before) / before * 100:+.0f}%"


def render(results: dict, machine_line: str) -> str:
    lines = [f"## {dt.datetime.now():%Y-%m-%d %H:%M} on {machine_line}", ""]
    scale = results["scale"]
    lines.append(f"Book: {scale['dealers']:,} dealers, {scale['orders']:,} orders.")
    lines.append("")
    rows = []
    if "import" in results:
        imp = results["import"]
        rows.append(
            f"| import_ledger, {imp['rows']:,} rows (dealers, orders, payments) | "
            f"{imp['seconds']:.0f} s, {imp['rate']:,.0f} rows/s, "
            f"peak memory {imp['peak_mib']:.0f} MiB |"
        )
    api = results.get("api")
    if api:
        rows.append(
            "| aging report through the API (`GET /api/v1/reports/aging`) | "
            f"{api['aging_api_s']:.3f} s |"
        )
        rows.append(
            "| the same buckets, one SQL aggregate over a flat copy of the orders (floor) "
            f"| {api['aging_sql_s']:.3f} s |"
        )
        rows.append(f"| ratio API / floor | {api['ratio']:.2f}x |")
        rows.append(
            "| `GET /api/v1/dealers/{code}`, 50 random dealers | "
            f"median {api['dealer_median_ms']:.1f} ms, p95 {api['dealer_p95_ms']:.1f} ms, "
            f"{', '.join(map(str, api['dealer_queries']))} queries |"
        )
    sweep = results.get("sweep")
    if sweep and "baseline" not in results:
        rows.append(
            f"| daily sweep, first morning the workflow sees ({sweep['dealers']:,} dealers, "
            f"{sweep['batches']} batches; {sweep['moves']:,} stage moves and "
            f"{sweep['letters']:,} letters over both days) | "
            f"{sweep['first_s']:.1f} s, {sweep['first_queries']:,} queries |"
        )
        rows.append(
            f"| daily sweep, the next morning | {sweep['seconds']:.1f} s, "
            f"{sweep['queries']:,} queries |"
        )
        rows.append(
            f"| the same morning swept again | {sweep['second_run_s']:.2f} s, "
            f"{sweep['second_run_queries']} queries, nothing written |"
        )
    if rows:
        lines += ["| measure | result |", "|---|---|", *rows]
    if "baseline" in results:
        if rows:
            lines.append("")
        lines += render_sweep_against_baseline(results["baseline"], sweep)
    if api:
        lines.append("")
        lines.append(f"Aging total on {BENCH_DATE}: {api['aging_total']}.")
    if "pages" in results:
        from bench import pages

        if lines[-1]:
            lines.append("")
        lines += pages.render(results["pages"])
        if "pages_baseline" in results:
            lines.append("")
            lines += pages.render_against_baseline(results["pages_baseline"], results["pages"])
    if "letters" in results:
        from bench import letters

        if lines[-1]:
            lines.append("")
        lines += letters.render(results["letters"])
    return "\n".join(lines) + "\n"


def render_sweep_against_baseline(baseline: dict, sweep: dict) -> list[str]:
    """The three mornings of the baseline and of this tree, on the same database."""
    base = baseline["sweep"]
    rev, short = baseline["rev"], baseline["sha"]
    is_id = baseline["commit"].startswith(rev.lower())
    label = f"baseline ({short})" if is_id else f"baseline ({rev}, {short})"
    lines = [
        f"Daily sweep over {sweep['dealers']:,} dealers ({sweep['batches']} batches), "
        "the baseline first, then this tree, on the same database in the same run:",
        "",
        f"| daily sweep | {label} | this tree | change |",
        "|---|---|---|---|",
    ]
    mornings = [
        ("first morning the workflow sees", "first_s", "first_queries", 1),
        ("the next morning", "seconds", "queries", 1),
        ("the same morning swept again", "second_run_s", "second_run_queries", 2),
    ]
    for title, seconds, queries, places in mornings:
        lines.append(
            f"| {title} "
            f"| {base[seconds]:.{places}f} s, {base[queries]:,} queries "
            f"| {sweep[seconds]:.{places}f} s, {sweep[queries]:,} queries "
            f"| {change(base[seconds], sweep[seconds])} time, "
            f"{change(base[queries], sweep[queries])} queries |"
        )
    lines.append(
        "| written over both days "
        f"| {base['moves']:,} stage moves, {base['letters']:,} letters "
        f"| {sweep['moves']:,} stage moves, {sweep['letters']:,} letters "
        f"| {change(base['moves'], sweep['moves'])} moves, "
        f"{change(base['letters'], sweep['letters'])} letters |"
    )
    return lines


if __name__ == "__main__":
    main()

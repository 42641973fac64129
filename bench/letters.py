"""The letters step of `make bench` (`--letters`, or `--letters-only`): how many reminder
letters a process renders to PDF and stores per second, the way of `render_letter` (one
document per letter, `dunning.printing.store_pdf`) next to the way of `render_letters`
(one document per batch of letters, cut into one PDF per letter, `store_pdfs`), each with
one process and with two.

Its own database, made afresh each run: a SQLite file, var/bench/letters.sqlite3 (this
tree migrated), with 1,000 dealers, their overdue orders (most one to eight, one dealer in
ten enough for two or three pages) and one reminder each, issued on BENCH_DATE; 85% of the
dealers get their letters in English, 10% in Spanish, 5% in Chinese. PDFs are stored under
var/bench/letters-media. Before each run every letter is made unrendered again (PDFs
deleted).

Each run is done by fresh processes (spawned; Django set up and one letter laid out, not
stored, before the clock starts), which all start together; a run's time is from that
start to the last one's end. With two processes, each gets every other batch (the naive
way: the letters of those batches, one by one). Reported: letters per second, CPU time per
letter (less sensitive than wall time to other work on the machine, which is noted with
the load average), and each process's peak memory (ru_maxrss).

Checked, not only timed: after every run each letter is stored, once, ready; a sample of
letters (every language, one to three pages) reads the same, page for page, whichever way
it was rendered (pypdf text extraction).

How WeasyPrint subsets the fonts it embeds decides much of a letter's cost: HarfBuzz's
subsetter when libharfbuzz-subset is installed, else fontTools (pure Python, slower). The
report names the one used; `--letters-fonttools N` also renders N letters both ways (one
process) with fontTools forced, as on a machine without libharfbuzz-subset.

Run alone: `python -m bench.letters [--count N] [--batch-size N] [--fonttools N] [--json]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import multiprocessing
import os
import platform
import queue
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
DATABASE = WORK / "letters.sqlite3"
MEDIA = WORK / "letters-media"
BENCH_DATE = dt.date(2026, 11, 20)
COUNT = 1000
LANGUAGES = (("en", 85), ("es", 10), ("zh-hans", 5))
# Overdue orders per dealer, and how often: one dealer in ten has two or three pages.
ITEMS = ((1, 30), (2, 20), (3, 14), (5, 12), (8, 14), (30, 6), (60, 4))
SAMPLE = 24
PROCESS_TIMEOUT_S = 3600


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{DATABASE}",
        "MEDIA_ROOT": str(MEDIA),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    }


# --- The book -----------------------------------------------------------------------------


def build(count: int) -> dict[str, int]:
    """A fresh database of `count` dealers with overdue orders and a reminder each."""
    from django.db import connection

    connection.close()
    WORK.mkdir(parents=True, exist_ok=True)
    for path in (DATABASE, Path(f"{DATABASE}-wal"), Path(f"{DATABASE}-shm")):
        path.unlink(missing_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
        cwd=ROOT,
        env=environment(),
        check=True,
    )
    from django.db import transaction

    from dunning.models import Letter
    from receivables.models import Dealer, Order

    rng = random.Random(20261120)
    with transaction.atomic():
        dealers = Dealer.objects.bulk_create(
            _dealer(n, rng.choices(*zip(*LANGUAGES, strict=True))[0]) for n in range(count)
        )
        orders = []
        for dealer in dealers:
            items = rng.choices(*zip(*ITEMS, strict=True))[0]
            for k in range(items):
                due_on = BENCH_DATE - dt.timedelta(days=rng.randint(1, 240))
                orders.append(
                    Order(
                        number=f"{dealer.code}-{k:03d}",
                        dealer=dealer,
                        ordered_on=due_on - dt.timedelta(days=30),
                        due_on=due_on,
                        amount=Decimal(rng.randint(5_000, 2_500_000)) / 100,
                    )
                )
        Order.objects.bulk_create(orders, batch_size=2000)
        Letter.objects.bulk_create(
            Letter(
                dealer=dealer,
                kind=Letter.Kind.REMINDER,
                level=rng.choice((1, 2)),
                issued_on=BENCH_DATE,
                cycle_started_on=BENCH_DATE,
                amount=Decimal("0.00"),
            )
            for dealer in dealers
        )
    return {"dealers": len(dealers), "orders": len(orders)}


def _dealer(n: int, language: str) -> Any:
    from receivables.models import Dealer

    name = {
        "en": f"Landhandel {n} Futtermittel GmbH & Co. KG",
        "es": f"Piensos y Cereales {n} S.L.",
        "zh-hans": f"饲料经销商 {n} 有限公司",
    }[language]
    return Dealer(
        code=f"LB{n:04d}",
        name=name,
        country={"en": "DE", "es": "ES", "zh-hans": "CN"}[language],
        language=language,
        address=f"Hauptstraße {n % 180 + 1}\nHof {n % 7 + 1}",
        postal_code=f"{26000 + n}",
        city="Oldenburg",
    )


def reset() -> None:
    """Every letter unrendered again, its PDF deleted."""
    from dunning.models import Letter

    Letter.objects.update(pdf="", sha256="", status=Letter.Status.RENDERING, failure="")
    shutil.rmtree(MEDIA, ignore_errors=True)


# --- One run: fresh processes, started together -------------------------------------------


def _work(job: dict, barrier: Any, results: Any) -> None:
    """A process of a run: set up, lay one letter out, wait for the others, then render and
    store its letters, the naive way (`store_pdf` each) or in batches (`store_pdfs`)."""
    os.environ.update(job["env"])
    sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    # WeasyPrint warns about the font subsetter it falls back to, once per font per PDF.
    logging.disable(logging.WARNING)
    if job["fonttools"]:
        import weasyprint.pdf.fonts

        weasyprint.pdf.fonts.harfbuzz_subset = None  # WeasyPrint's fallback: fontTools
    from dunning import printing
    from dunning.models import Letter

    printing.render_pdf(Letter.objects.select_related("dealer").get(pk=job["warm_up"]))
    barrier.wait(timeout=PROCESS_TIMEOUT_S)
    started, cpu = time.monotonic(), time.process_time()
    stored, failures = 0, 0
    for batch in job["batches"]:
        if job["way"] == "naive":
            for letter_id in batch:
                stored += bool(printing.store_pdf(letter_id).sha256)
        else:
            outcome = printing.store_pdfs(batch)
            stored += len(outcome.stored)
            failures += len(outcome.failures)
    results.put(
        {
            "started": started,
            "ended": time.monotonic(),
            "cpu_s": time.process_time() - cpu,
            "stored": stored,
            "failures": failures,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def run(way: str, batches: list[list[int]], processes: int, *, fonttools: bool = False) -> dict:
    """Render and store the letters of `batches` one way, with `processes` processes."""
    from dunning.models import Letter

    reset()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(
            target=_work,
            args=(
                {
                    "env": environment(),
                    "way": way,
                    "batches": batches[number::processes],
                    "warm_up": batches[0][0],
                    "fonttools": fonttools,
                },
                barrier,
                results,
            ),
        )
        for number in range(processes)
    ]
    for worker in workers:
        worker.start()
    done: list[dict] = []
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while len(done) < processes:
        try:
            done.append(results.get(timeout=2))
        except queue.Empty:
            failed = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                for worker in workers:  # the others wait for it at the start, or run on
                    worker.terminate()
                raise SystemExit(f"a {way} process failed (exit codes {failed})") from None
    for worker in workers:
        worker.join()
    letters = sum(len(batch) for batch in batches)
    seconds = max(d["ended"] for d in done) - min(d["started"] for d in done)
    ids = [letter_id for batch in batches for letter_id in batch]
    ready = Letter.objects.filter(pk__in=ids, status=Letter.Status.READY).exclude(sha256="")
    result = {
        "way": way,
        "processes": processes,
        "fonttools": fonttools,
        "letters": letters,
        "seconds": seconds,
        "rate": letters / seconds,
        "cpu_ms_per_letter": sum(d["cpu_s"] for d in done) / letters * 1000,
        "peak_mib": [round(d["peak_mib"]) for d in done],
        "stored": sum(d["stored"] for d in done),
        "failures": sum(d["failures"] for d in done),
        "ready": ready.count(),
    }
    if result["ready"] != letters or result["failures"]:
        raise SystemExit(f"not every letter was stored: {result}")
    return result


# --- What the letters say -----------------------------------------------------------------


def sample(count: int) -> list[int]:
    """Letters of every language and length, to read after each run."""
    from django.db.models import Count

    from dunning.models import Letter

    letters = Letter.objects.annotate(items=Count("dealer__orders")).order_by("pk")
    chosen: list[int] = []
    for language, _share in LANGUAGES:
        for low, high in ((1, 2), (3, 29), (30, 59), (60, 10_000)):
            found = letters.filter(dealer__language=language, items__range=(low, high))
            chosen += list(found.values_list("pk", flat=True)[: max(1, count // 12)])
    return chosen[:count]


def read(letter_ids: list[int]) -> dict[int, list[str]]:
    """The stored letters' text, page by page."""
    from pypdf import PdfReader

    from dunning.models import Letter

    texts = {}
    for letter in Letter.objects.filter(pk__in=letter_ids):
        with letter.pdf.open("rb") as stored:
            reader = PdfReader(io.BytesIO(stored.read()))
        texts[letter.pk] = [page.extract_text() for page in reader.pages]
    return texts


# --- The whole step -----------------------------------------------------------------------


def subsetter() -> str:
    """The font subsetter WeasyPrint uses here (`weasyprint.pdf.fonts.Font.subset`)."""
    import ctypes
    import ctypes.util

    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        library = ctypes.util.find_library("harfbuzz") or "libharfbuzz.so.0"
        version = ctypes.CDLL(library).hb_version_string
        version.restype = ctypes.c_char_p
        return f"HarfBuzz-Subset {version().decode()}"
    return "fontTools (libharfbuzz-subset not installed)"


def software() -> str:
    import weasyprint

    return f"WeasyPrint {weasyprint.__version__}, SQLite {sqlite3.sqlite_version}"


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
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}"
    )


def measure(count: int = COUNT, batch_size: int | None = None, fonttools: int = 0) -> dict:
    """Build the book, then time both ways with one and two processes (and with fontTools
    forced, for `fonttools` letters)."""
    os.environ.update(environment())
    import django

    django.setup()
    from dunning import tasks
    from dunning.models import Letter

    batch_size = batch_size or tasks.RENDER_BATCH_SIZE
    print(f"letters: building {count:,} dealers and reminders in {DATABASE} ...", flush=True)
    book = build(count)
    letters = list(Letter.objects.select_related("dealer").order_by("pk"))
    batches = tasks.rendering_batches(letters, batch_size=batch_size)
    pages = 0
    chosen = sample(SAMPLE)
    results: dict[str, Any] = {
        "count": count,
        "batch_size": batch_size,
        "book": book,
        "languages": {
            language: sum(1 for x in letters if x.dealer.language == language)
            for language, _share in LANGUAGES
        },
        "subsetter": subsetter(),
        "software": software(),
        "machine": machine(),
        "load_before": os.getloadavg(),
        "runs": [],
    }
    texts: dict[int, list[str]] | None = None
    for way, processes in (("naive", 1), ("batch", 1), ("naive", 2), ("batch", 2)):
        print(f"letters: {way}, {processes} process(es) ...", flush=True)
        result = run(way, batches, processes)
        read_now = read(chosen)
        if texts is None:
            texts = read_now
            pages = sum(len(reader) for reader in texts.values())
        result["same_text"] = sum(read_now[pk] == texts[pk] for pk in chosen)
        results["runs"].append(result)
        print(result, flush=True)
    results["pages"] = _pages()
    if fonttools:
        few: list[list[int]] = []
        for batch in batches:
            if sum(map(len, few)) >= fonttools:
                break
            few.append(batch)
        for way in ("naive", "batch"):
            print(f"letters: {way}, 1 process, fontTools ...", flush=True)
            result = run(way, few, 1, fonttools=True)
            results["runs"].append(result)
            print(result, flush=True)
    results["sample"] = {"letters": len(chosen), "pages": pages}
    results["load_after"] = os.getloadavg()
    return results


def _pages() -> int:
    from pypdf import PdfReader

    from dunning.models import Letter

    total = 0
    for letter in Letter.objects.exclude(sha256=""):
        with letter.pdf.open("rb") as stored:
            total += len(PdfReader(stored).pages)
    return total


def run_in_subprocess(count: int, batch_size: int | None, fonttools: int) -> dict:
    """`measure` in a process of its own (its own database settings), as JSON."""
    command = [sys.executable, "-m", "bench.letters", "--json", "--count", str(count)]
    command += ["--fonttools", str(fonttools)]
    if batch_size:
        command += ["--batch-size", str(batch_size)]
    proc = subprocess.run(command, cwd=ROOT, env=environment(), stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit("the letters benchmark failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- The report ---------------------------------------------------------------------------


def render(results: dict) -> list[str]:
    """The letters' table and what it was measured on, for docs/BENCHMARKS.md."""
    runs = results["runs"]
    book, languages = results["book"], results["languages"]
    share = ", ".join(
        f"{languages[code] / results['count']:.0%} {name}"
        for code, name in (("en", "English"), ("es", "Spanish"), ("zh-hans", "Chinese"))
    )
    lines = [
        f"Letters: {results['count']:,} reminders to {book['dealers']:,} dealers "
        f"({book['orders']:,} overdue orders; {results['pages']:,} pages; {share}), "
        f"rendered and stored ({results['software']}; fonts subset by "
        f"{results['subsetter']}). "
        "Load average "
        f"{results['load_before'][0]:.1f} before, {results['load_after'][0]:.1f} after "
        "(other work on the machine slows the wall clock, less the CPU time).",
        "",
        "| way | processes | letters/s | vs naive, 1 process | CPU ms per letter "
        "| peak memory per process | same text (sample) |",
        "|---|---|---|---|---|---|---|",
    ]
    naive = {
        run["fonttools"]: run["rate"]
        for run in runs
        if run["way"] == "naive" and run["processes"] == 1
    }
    for run in runs:
        if run["way"] == "naive":
            way = "naive: one document per letter (`store_pdf`)"
        else:
            way = f"batches of {results['batch_size']}: one document each, cut (`store_pdfs`)"
        if run["fonttools"]:
            way += f", fontTools forced, {run['letters']:,} letters"
        same = f"{run['same_text']}/{results['sample']['letters']}" if "same_text" in run else "—"
        lines.append(
            f"| {way} | {run['processes']} | {run['rate']:.1f} "
            f"| {run['rate'] / naive[run['fonttools']]:.2f}x "
            f"| {run['cpu_ms_per_letter']:.0f} "
            f"| {', '.join(f'{mib} MiB' for mib in run['peak_mib'])} | {same} |"
        )
    return lines


def report(results: dict) -> str:
    """A section of its own for docs/BENCHMARKS.md (`--letters-only`)."""
    lines = [f"## {dt.datetime.now():%Y-%m-%d %H:%M} on {results['machine']}", ""]
    return "\n".join([*lines, *render(results)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.letters")
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--fonttools", type=int, default=0, metavar="N")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = measure(args.count, args.batch_size, args.fonttools)
    print(json.dumps(results) if args.json else report(results))


if __name__ == "__main__":
    main()

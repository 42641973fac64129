"""The pages step of `make bench` (`--pages`): how fast every page and report answers on
the loaded book, through a real web server, as a manager and as a collector.

Preparation (idempotent, on the bench database): a manager `bench-manager` and a collector
`bench-collector` with a known password; the collector owns exactly the first 1,000
dealers by id and no others; the book is swept for the bench date (swept here when no
sweep batch exists for it), so that the worklist and the collection pages have data.

Then this tree is served by gunicorn (2 workers, DEBUG off, a long timeout so that a slow
page is measured rather than killed). Each user logs in through the login form like a
browser (the CSRF cookie and hidden input, the session cookie) and times each page: 2
warm-up requests, then 30 timed ones (3 when a warm-up took more than SLOW_S), median and
nearest-rank p95, and the HTTP status of every request; an error or a time-out is
reported, not dropped. Redirects are not followed: a page that sends the user to the login
form shows as a 302. The aging report of the API is timed at three dates, and the KPIs for
the quarter ending at each of those dates, each next to its floor: one SQL aggregate over a
flat copy of the same orders with their open amounts precomputed (bench/floor.py says how).

The application's "today" is the real date (`business_today()`), not the bench date.
"""

from __future__ import annotations

import calendar
import collections
import contextlib
import datetime as dt
import http.client
import http.cookiejar
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

MANAGER = "bench-manager"
COLLECTOR = "bench-collector"
# Only ever set on the bench database, for the bench users.
PASSWORD = "bench-pages-password"
COLLECTOR_DEALERS = 1000
AGENCY = "bench-agency"
AUDITOR = "bench-auditor"
AGENCY_NAME = "Bench Collections Ltd"
# The agency works the next 1,000 dealers by id, placed with it 60 days before the bench date.
AGENCY_DEALERS = 1000
PLACED_DAYS_BEFORE = 60
WORKERS = 2
SERVER_TIMEOUT_S = 120
CLIENT_TIMEOUT_S = SERVER_TIMEOUT_S + 30
START_TIMEOUT_S = 60
WARMUP = 2
REQUESTS = 30
SLOW_S = 30.0
SLOW_REQUESTS = 3
YEARS_BACK = 2
PENDING_ESCALATIONS = 500


# --- Preparation ------------------------------------------------------------------------


def prepare(bench_date: dt.date) -> dict:
    """The two users, the collector's 1,000 dealers, a swept book, and the dealer whose
    ledger and collection pages are timed: the collector's most overdue one today."""
    from django.contrib.auth.models import Group, User
    from django.db.models import Q

    from dunning.models import SweepBatch
    from receivables.dates import business_today
    from receivables.models import Dealer

    groups = {}
    for name in ("manager", "collector", "agency", "auditor"):
        try:
            groups[name] = Group.objects.get(name=name)
        except Group.DoesNotExist:
            raise SystemExit(f"the role group {name!r} is missing: run manage.py migrate") from None
    users = {}
    for username, role in (
        (MANAGER, "manager"),
        (COLLECTOR, "collector"),
        (AGENCY, "agency"),
        (AUDITOR, "auditor"),
    ):
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(PASSWORD)
        user.is_active = True
        user.save()
        user.groups.set([groups[role]])
        users[role] = user

    collector = users["collector"]
    pks = list(Dealer.objects.order_by("id").values_list("pk", flat=True)[:COLLECTOR_DEALERS])
    Dealer.objects.filter(collector=collector).exclude(pk__in=pks).update(collector=None)
    Dealer.objects.filter(pk__in=pks).exclude(collector=collector).update(collector=collector)
    owned = Dealer.objects.filter(collector=collector).count()

    swept = "already swept"
    if not SweepBatch.objects.filter(business_date=bench_date).exists():
        from dunning.sweep import run_sweep

        print(f"sweeping {bench_date} for the pages ...", flush=True)
        started = time.perf_counter()
        run_sweep(today=bench_date)
        swept = f"swept now in {time.perf_counter() - started:.0f} s"

    today = business_today()
    dealer = (
        Dealer.objects.filter(pk__in=pks)
        .with_balance(today)
        .filter(Q(overdue__gt=0))
        .order_by("-overdue", "code")
        .first()
    )
    if dealer is None:
        raise SystemExit(f"none of the collector's {owned} dealers has anything overdue")
    from dunning.models import Letter

    pending = _enough_pending_escalations(today)
    placed, placed_dealer = _place_with_agency(users["agency"], bench_date)
    return {
        "today": today.isoformat(),
        "collector_id": collector.pk,
        "pending_escalations": pending,
        "agency_dealers": placed,
        "agency_dealer": placed_dealer,
        # The print room is timed on the bench date's letters, the sweep's.
        "letters_day": bench_date.isoformat(),
        "letters_that_day": Letter.objects.filter(issued_on=bench_date).count(),
        "collector_dealers": owned,
        "sweep": f"{bench_date}: {swept}",
        "dealer": dealer.code,
        "dealer_overdue": str(dealer.overdue),  # type: ignore[attr-defined]
    }


def _enough_pending_escalations(today: dt.date) -> int:
    """At least PENDING_ESCALATIONS pending requests for the approvals page: the sweep's
    proposals, topped up with proposals to move the most overdue dealers without one to
    hard collection (as the sweep would propose them). Returns how many are pending."""
    from django.db.models import Q

    from dunning.models import Escalation, Stage
    from dunning.services.escalations import Proposal, propose_escalations
    from dunning.services.stages import ensure_account
    from receivables.models import Dealer

    pending = Escalation.objects.filter(status=Escalation.Status.PENDING)
    missing = PENDING_ESCALATIONS - pending.count()
    if missing > 0:
        dealers = list(
            Dealer.objects.with_balance(today)
            .filter(Q(overdue__gt=0))
            .exclude(pk__in=pending.values("dealer_id"))
            .order_by("-overdue", "code")[:missing]
        )
        for dealer in dealers:
            ensure_account(dealer)
        propose_escalations(
            [
                Proposal(d.pk, Stage.HARD, "Bench: long overdue, proposed for hard collection")
                for d in dealers
            ],
            today=today,
            mail_managers=False,
        )
    return pending.count()


def _place_with_agency(user, bench_date: dt.date) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """The agency user's agency, and AGENCY_DEALERS dealers (the next ones by id after the
    collector's) placed with it: in the agency stage since PLACED_DAYS_BEFORE days before
    the bench date, with the stage change that says so. Returns how many are placed and
    the most overdue one's code."""
    from decimal import Decimal

    from django.db.models import Q

    from dunning.models import CollectionAccount, Stage, StageChange
    from receivables.dates import business_today
    from receivables.models import Agency, Dealer

    agency, _ = Agency.objects.get_or_create(
        name=AGENCY_NAME, defaults={"commission_percent": Decimal("15.00")}
    )
    agency.users.set([user])
    ids = list(
        Dealer.objects.order_by("id").values_list("pk", flat=True)[
            COLLECTOR_DEALERS : COLLECTOR_DEALERS + AGENCY_DEALERS
        ]
    )
    Dealer.objects.filter(pk__in=ids).exclude(agency=agency).update(agency=agency, collector=None)
    for dealer_id in ids:
        CollectionAccount.objects.get_or_create(dealer_id=dealer_id)
    CollectionAccount.objects.filter(dealer_id__in=ids).exclude(stage=Stage.AGENCY).update(
        stage=Stage.AGENCY
    )
    placed_on = bench_date - dt.timedelta(days=PLACED_DAYS_BEFORE)
    have = set(
        StageChange.objects.filter(dealer_id__in=ids, to_stage=Stage.AGENCY).values_list(
            "dealer_id", flat=True
        )
    )
    StageChange.objects.bulk_create(
        [
            StageChange(
                dealer_id=dealer_id,
                from_stage=Stage.HARD,
                to_stage=Stage.AGENCY,
                on=placed_on,
                reason=f"Bench: placed with {AGENCY_NAME}",
            )
            for dealer_id in ids
            if dealer_id not in have
        ]
    )
    dealer = (
        Dealer.objects.filter(pk__in=ids)
        .with_balance(business_today())
        .filter(Q(overdue__gt=0))
        .order_by("-overdue", "code")
        .first()
    )
    return Dealer.objects.filter(agency=agency).count(), dealer.code if dealer else ""


def role_paths(setup: dict) -> list[tuple[str, str, str]]:
    """(label, path, role) of the agency's and the auditor's own pages."""
    placed = urllib.parse.quote(setup["agency_dealer"], safe="")
    code = urllib.parse.quote(setup["dealer"], safe="")
    return [
        ("agency worklist", "/agency/", "agency"),
        ("agency worklist, page 20", "/agency/?page=20", "agency"),
        ("agency: a placed dealer", f"/agency/dealers/{placed}/", "agency"),
        ("agency: commission", "/agency/commission/", "agency"),
        ("auditor: dashboard", "/", "auditor"),
        ("auditor: dealer list", "/dealers/", "auditor"),
        ("auditor: a dealer's history", f"/dealers/{code}/history/", "auditor"),
        ("auditor: the history as CSV", f"/dealers/{code}/history.csv", "auditor"),
        ("auditor: alerts", "/alerts/", "auditor"),
        ("auditor: escalations", "/escalations/", "auditor"),
        ("auditor: team desk", "/desk/", "auditor"),
    ]


def desk_cold(runs: int = 3) -> dict:
    """The team desk's figures computed from the book (what the beat task does every five
    minutes and a manager waits for when the cache is empty), in this process."""
    from django.utils import timezone

    from dunning.desk import team_figures
    from receivables.dates import business_today

    times = []
    for _ in range(runs):
        started = time.perf_counter()
        team_figures(today=business_today(), now=timezone.now())
        times.append((time.perf_counter() - started) * 1000)
    return {"runs": runs, "median_ms": statistics.median(times), "max_ms": max(times)}


# --- The server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(root: Path, database_url: str, log: Path) -> Iterator[str]:
    """This tree under gunicorn; yields its base URL and stops it on the way out."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_DEBUG": "false",
        "PYTHONPATH": str(root),
    }
    # WhiteNoise serves what collectstatic put under STATIC_ROOT (the pages' CSS and JS).
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=root,
        env=env,
        check=True,
    )
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                str(gunicorn),
                "config.wsgi",
                "-w",
                str(WORKERS),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                str(SERVER_TIMEOUT_S),
                "--chdir",
                str(root),
                # Not gunicorn's default socket in the home directory: another server
                # (make run, a second bench) may be using it.
                "--no-control-socket",
            ],
            cwd=root,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(server, base, log)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(server: subprocess.Popen, base: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped at start-up:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=5) as response:
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.5)
    raise SystemExit(f"gunicorn did not answer /login/ in {START_TIMEOUT_S} s: see {log}")


# --- The browser ------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to time (and to report: a 302 to the login form is a
    failure), not to follow."""

    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Browser:
    """A cookie jar and an opener: what a browser keeps between pages."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[object, bytes]:
        """(status, body): the HTTP status, or "timeout" / "error: ..." when none came."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body)
        if data is not None:
            request.add_header("Referer", f"{self.base}/login/")
        try:
            with self.opener.open(request, timeout=CLIENT_TIMEOUT_S) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()
        except TimeoutError:
            return "timeout", b""
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                return "timeout", b""
            return f"error: {error.reason}", b""
        except (OSError, http.client.HTTPException) as error:
            return f"error: {type(error).__name__} {error}", b""

    def log_in(self, username: str, password: str) -> None:
        status, page = self.request("/login/")
        found = CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or found is None:
            raise SystemExit(f"GET /login/ answered {status} without a CSRF token")
        form = {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": found.group(1),
            "next": "",
        }
        status, _ = self.request("/login/", form)
        if status != 302 or not any(cookie.name == "sessionid" for cookie in self.cookies):
            raise SystemExit(f"logging in as {username} answered {status}, no session")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]


def time_page(browser: Browser, path: str, requests: int) -> dict:
    """Warm up, then time `requests` GETs of `path` (fewer when it is slow)."""
    warmups = []
    status, body = None, b""
    for _ in range(WARMUP):
        started = time.perf_counter()
        status, body = browser.request(path)
        warmups.append(time.perf_counter() - started)
        if warmups[-1] > SLOW_S:
            break  # a second slow warm-up would tell nothing more
    slow = max(warmups) > SLOW_S
    count = min(requests, SLOW_REQUESTS) if slow else requests
    timings, statuses = [], collections.Counter()
    for _ in range(count):
        started = time.perf_counter()
        status, body = browser.request(path)
        timings.append(time.perf_counter() - started)
        statuses[str(status)] += 1
    return {
        "path": path,
        "requests": count,
        "slow": slow,
        "warmup_ms": [round(t * 1000, 1) for t in warmups],
        "median_ms": statistics.median(timings) * 1000,
        "p95_ms": _p95(timings) * 1000,
        "statuses": dict(statuses),
        "bytes": len(body),
        "last_body": body.decode("utf-8", "replace") if path.startswith("/api/") else None,
    }


# --- Dates, pages, floor ----------------------------------------------------------------


def years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def quarter_ending(day: dt.date) -> tuple[dt.date, dt.date]:
    """The three months ending on `day`, both ends included."""
    year, month = (day.year, day.month - 3) if day.month > 3 else (day.year - 1, day.month + 9)
    same_day = dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    return same_day + dt.timedelta(days=1), day


def page_paths(dealer: str, letters_day: str, collector_id: int) -> list[tuple[str, str, bool]]:
    """(label, path, for the collector too) in the order of the table."""
    code = urllib.parse.quote(dealer, safe="")
    return [
        ("dashboard", "/", True),
        ("worklist", "/worklist/", True),
        ("worklist, page 40", "/worklist/?page=40", False),
        ("dealer list", "/dealers/", True),
        (
            "dealer list, oldest due first, one region",
            "/dealers/?sort=oldest&region=Region+3",
            True,
        ),
        ("dealer list, search", "/dealers/?q=4640", True),
        ("dealer list, items aged 91-180 days", "/dealers/?age=91-180", True),
        ("aging report", "/reports/aging/", True),
        ("dealer ledger", f"/dealers/{code}/", True),
        ("collection panel", f"/dealers/{code}/collection/", True),
        ("escalations (approvals)", "/escalations/", True),
        ("approvals, most overdue first", "/escalations/?sort=-overdue", False),
        (
            "approvals, proposed by the sweep, to hard, page 5",
            "/escalations/?requested_by=sweep&to_stage=hard&sort=-days&page=5",
            False,
        ),
        ("team desk (managers)", "/desk/", False),
        ("team: reassign dealers", "/team/reassign/", False),
        (
            "team: reassign, the collector's dealers by code",
            f"/team/reassign/?collector={collector_id}&sort=code",
            False,
        ),
        ("team: reassign, page 300", "/team/reassign/?page=300", False),
        ("team: collection policy", "/team/policy/", False),
        ("team: excuse library", "/team/excuses/", False),
        ("team: credit overrides", "/team/credit-overrides/", False),
        ("finance desk", "/finance/", False),
        ("finance: import", "/finance/import/", False),
        ("finance: payments", "/finance/payments/", False),
        ("finance: record a payment", "/finance/payments/new/", False),
        ("allowance API", "/api/v1/reports/allowance", True),
        ("forecast API", "/api/v1/reports/forecast", True),
        ("alerts (managers only)", "/alerts/", False),
        ("tasks", "/tasks/", True),
        ("dealer API", f"/api/v1/dealers/{code}", True),
        ("credit status API", f"/api/v1/dealers/{code}/credit-status", True),
        ("promises API", f"/api/v1/dealers/{code}/promises", True),
        ("timeline API", f"/api/v1/dealers/{code}/timeline", True),
        ("letters API", "/api/v1/letters", True),
        ("print room, the day's letters", f"/print-room/?day={letters_day}", True),
        (
            "print room, the day's reminders, page 10",
            f"/print-room/?day={letters_day}&kind=reminder&page=10",
            False,
        ),
        ("print room, reconciliation letters", "/print-room/reconciliation/", True),
    ]


def api_paths(dates: list[dt.date]) -> list[tuple[str, str]]:
    paths = [(f"aging {day}", f"/api/v1/reports/aging?as_of={day}") for day in dates]
    for day in dates:
        start, end = quarter_ending(day)
        paths.append((f"kpis {day}", f"/api/v1/reports/kpis?from={start}&to={end}"))
    return paths


def _answer(api_body: str | None) -> dict | None:
    try:
        answer = json.loads(api_body or "")
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def same_buckets(api_body: str | None, buckets: dict) -> bool | None:
    """Whether the API's answer (the last one timed) has the floor's counts and amounts.
    `buckets` is per (currency, bucket); amounts are compared when the floor has one
    currency and it is the answer's (the API converts the others)."""
    answer = _answer(api_body)
    if answer is None or "buckets" not in answer:
        return None
    currencies = {currency for currency, _key in buckets}
    compare_amounts = currencies <= {answer.get("currency")}
    for bucket in answer["buckets"]:
        found = [row for (_cur, key), row in buckets.items() if key == bucket["key"]]
        count = sum(c for c, _amount in found)
        amount = sum((a or Decimal("0.00") for _c, a in found), Decimal("0.00"))
        if bucket["count"] != count:
            return False
        if compare_amounts and Decimal(bucket["amount"]) != amount:
            return False
    return True


def same_kpis(api_body: str | None, sums: dict) -> bool | None:
    """Whether the API's KPIs (the last answer timed) have the floor's sales, opening,
    closing and closing_current; None when there is no answer or the floor's currencies
    are not just the answer's (the API converts the others)."""
    from bench.floor import KPI_NAMES

    answer = _answer(api_body)
    if answer is None or not set(sums) <= {answer.get("currency")}:
        return None
    found = sums.get(answer.get("currency"), {})
    cent = Decimal("0.01")
    return all(
        Decimal(answer[name]) == Decimal(found.get(name, 0)).quantize(cent) for name in KPI_NAMES
    )


# --- The measurement --------------------------------------------------------------------


def measure(
    root: Path,
    database_url: str,
    bench_date: dt.date,
    requests: int = REQUESTS,
    *,
    floors: bool = True,
) -> dict:
    """Prepare, serve `root`'s code, time every page and report as both users, then the
    floors (unless `floors` is false: a baseline revision is timed without them)."""
    started = time.perf_counter()
    setup = prepare(bench_date)
    print(f"pages: {setup}", flush=True)
    dates = [years_back(bench_date, years) for years in range(YEARS_BACK + 1)]
    pages = page_paths(setup["dealer"], setup["letters_day"], setup["collector_id"])
    apis = api_paths(dates)
    users = {"manager": MANAGER, "collector": COLLECTOR}
    results: dict = {
        "setup": setup,
        "requests": requests,
        "workers": WORKERS,
        "pages": {},
        "api": {},
        "floor": {},
    }
    log = root / "var" / "bench" / "pages-gunicorn.log"
    with serve(root, database_url, log) as base:
        for role, username in users.items():
            browser = Browser(base)
            print(f"pages as the {role}: login (anonymous) ...", flush=True)
            results["pages"].setdefault("login", {})[role] = time_page(browser, "/login/", requests)
            browser.log_in(username, PASSWORD)
            for label, path, collector_too in pages:
                if role == "collector" and not collector_too:
                    continue
                print(f"pages as the {role}: {label} {path} ...", flush=True)
                results["pages"].setdefault(label, {})[role] = time_page(browser, path, requests)
            for label, path in apis:
                print(f"pages as the {role}: {label} {path} ...", flush=True)
                results["api"].setdefault(label, {})[role] = time_page(browser, path, requests)
        browsers = {}
        for label, path, role in role_paths(setup):
            if role not in browsers:
                browsers[role] = Browser(base)
                browsers[role].log_in({"agency": AGENCY, "auditor": AUDITOR}[role], PASSWORD)
            print(f"pages as the {role}: {label} {path} ...", flush=True)
            timed = time_page(browsers[role], path, requests)
            results.setdefault("role_pages", {})[label] = {"role": role, **timed}
    from bench import floor

    for day in dates if floors else []:
        start, end = quarter_ending(day)
        print(f"pages: the floors of the aging and the KPIs on {day} ...", flush=True)
        build_s = floor.build_flat(day, start)
        aging = floor.aging_floor(day)
        kpis = floor.kpi_floor(start, end)
        api = results["api"][f"aging {day}"]["manager"]
        api_kpis = results["api"][f"kpis {day}"]["manager"]
        results["floor"][str(day)] = {
            "build_s": build_s,
            "median_ms": aging["median_ms"],
            "ratio": api["median_ms"] / aging["median_ms"],
            "same_buckets": same_buckets(api["last_body"], aging["buckets"]),
            "kpis": {
                "median_ms": kpis["median_ms"],
                "ratio": api_kpis["median_ms"] / kpis["median_ms"],
                "same_sums": same_kpis(api_kpis["last_body"], kpis["sums"]),
            },
        }
    if floors:
        floor.drop_flat()
        print("pages: the team desk's figures, cold ...", flush=True)
        results["desk_cold"] = desk_cold()
    for timed in (*results["pages"].values(), *results["api"].values()):
        for row in timed.values():
            row.pop("last_body", None)
    results["dates"] = [str(day) for day in dates]
    results["seconds"] = time.perf_counter() - started
    return results


# --- The report -------------------------------------------------------------------------


def _cell(row: dict | None) -> str:
    if row is None:
        return "—"
    text = f"{row['median_ms']:,.0f} / {row['p95_ms']:,.0f}"
    if row["slow"]:
        text += f" ({row['requests']} requests)"
    return text


def _status(row: dict | None) -> str:
    if row is None:
        return "—"
    statuses = row["statuses"]
    if len(statuses) == 1:
        return next(iter(statuses))
    return ", ".join(f"{status} x{n}" for status, n in sorted(statuses.items()))


def _row(label: str, timed: dict) -> str:
    manager, collector = timed.get("manager"), timed.get("collector")
    return (
        f"| {label} | {_cell(manager)} | {_cell(collector)} "
        f"| {_status(manager)} / {_status(collector)} |"
    )


def render(pages: dict) -> list[str]:
    from bench import floor

    setup = pages["setup"]
    lines = [
        f"Pages and reports through gunicorn ({pages['workers']} workers, DEBUG off), "
        f"logged in through the login form: {pages['requests']} requests each after "
        f"{WARMUP} warm-ups (fewer where marked: a warm-up took over {SLOW_S:.0f} s), "
        "milliseconds. The manager sees the whole book; the collector owns "
        f"{setup['collector_dealers']:,} dealers. Ledger and collection pages of "
        f"{setup['dealer']} (overdue {setup['dealer_overdue']}); today is {setup['today']} "
        f"(book {setup['sweep']}). The print room shows the letters of "
        f"{setup.get('letters_day', '?')}: {setup.get('letters_that_day', 0):,} letters. "
        f"Approvals: {setup.get('pending_escalations', 0):,} pending requests. The team "
        "desk reads its figures from the shared cache (filled by the first warm-up, as the "
        "beat task fills it every five minutes). Status: manager / collector.",
        "",
        "| page | manager median / p95 | collector median / p95 | status |",
        "|---|---|---|---|",
    ]
    timed_pages = pages["pages"]
    lines.append(_row("`/login/` (anonymous, the baseline)", timed_pages["login"]))
    for label, timed in timed_pages.items():
        if label != "login":
            path = (timed.get("manager") or timed["collector"])["path"]
            lines.append(_row(f"{label} `{path}`", timed))
    lines += [
        "",
        "The API's reports through the same sessions, next to their floor: one SQL "
        "aggregate computing the same figures over a flat copy of the same orders, one row "
        "per order with its open amount precomputed (built beforehand, not timed; median "
        f"of {floor.FLOOR_RUNS}), and the manager's median over it:",
        "",
        "| report | manager median / p95 | collector median / p95 | status | SQL floor | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for label, timed in pages["api"].items():
        kind, day = label.split(" ", 1)
        path = (timed.get("manager") or timed["collector"])["path"]
        found = pages["floor"].get(day)
        if found is None:
            extra = "— | —"
        elif kind == "aging":
            same = {True: "", False: ", other buckets!", None: ", no answer"}[found["same_buckets"]]
            extra = f"{found['median_ms']:,.0f} | {found['ratio']:.1f}x{same}"
        else:
            kpis = found["kpis"]
            same = {True: "", False: ", other sums!", None: ", not compared"}[kpis["same_sums"]]
            extra = f"{kpis['median_ms']:,.0f} | {kpis['ratio']:.1f}x{same}"
        lines.append(f"{_row(f'`{path}`', timed)} {extra} |")
    if role_pages := pages.get("role_pages"):
        lines += [
            "",
            f"The agency's own pages (an agency with {setup.get('agency_dealers', 0):,} placed "
            "dealers) and the auditor's (sees the whole book), same sessions and requests:",
            "",
            "| page | role | median / p95 | status |",
            "|---|---|---|---|",
        ]
        for label, timed in role_pages.items():
            lines.append(
                f"| {label} `{timed['path']}` | {timed['role']} | {_cell(timed)} "
                f"| {_status(timed)} |"
            )
    if cold := pages.get("desk_cold"):
        lines += [
            "",
            "The team desk's figures computed from the book, as the beat task computes "
            "them every five minutes (and a manager waits for them when the cache is "
            f"empty), in one process: median {cold['median_ms']:,.0f} ms, slowest "
            f"{cold['max_ms']:,.0f} ms of {cold['runs']}.",
        ]
    return lines


def render_against_baseline(baseline: dict, after: dict) -> list[str]:
    """Every page and report before (the baseline revision) and after (this tree), same
    book, same run: medians and p95 in milliseconds."""
    before = baseline["pages"]
    lines = [
        f"Before and after, same book, same run: the pages and reports as served by "
        f"{baseline['rev']} ({baseline['sha']}, {before['requests']} requests each after "
        f"{WARMUP} warm-ups) and by this tree ({after['requests']} requests each); median / "
        "p95, milliseconds.",
        "",
        "| page or report | manager before | manager after | collector before | collector after |",
        "|---|---|---|---|---|",
    ]
    for kind in ("pages", "api"):
        for label, timed in after[kind].items():
            old = before[kind].get(label, {})
            path = (timed.get("manager") or timed["collector"])["path"]
            name = "`/login/` (anonymous)" if label == "login" else f"{label} `{path}`"
            cells = []
            for role in ("manager", "collector"):
                for row in (old.get(role), timed.get(role)):
                    text = _cell(row)
                    if row is not None and set(row["statuses"]) != {"200"}:
                        text += f" ({_status(row)})"
                    cells.append(text)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines

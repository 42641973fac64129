"""The import on the finance desk: upload, a check that lists every bad row before anything
is written, confirmation, progress from the cache, one import at a time (enforced by the
database), tasks that are safe to run twice, and who may do it."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from receivables import tasks
from receivables.importing import import_ledger, jobs
from receivables.models import Allocation, Dealer, ImportJob, Order, Payment
from tests.factories import DealerFactory, UserFactory
from tests.test_page_query_counts import grow_book

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)

DEALERS = """\
code,name,country,currency
FD1,Hof Meyer,DE,EUR
FD2,Ferme Dupont,FR,EUR
"""

ORDERS = """\
number,dealer,ordered_on,due_on,amount
A-1,FD1,2026-01-05,2026-02-04,1000.00
A-2,FD1,2026-02-01,2026-03-03,500.00
A-3,FD2,2026-01-10,2026-02-09,250.50
"""

# Line 3 names an unknown dealer, line 4 has an amount that is not one.
BAD_ORDERS = """\
number,dealer,ordered_on,due_on,amount
A-1,FD1,2026-01-05,2026-02-04,1000.00
A-2,NOPE,2026-02-01,2026-03-03,500.00
A-3,FD2,2026-01-10,2026-02-09,lots
"""

PAYMENTS = """\
reference,dealer,received_on,amount
P-1,FD1,2026-02-10,1200.00
"""


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """The tasks the desk sends, kept here instead of going to the broker."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(jobs, "enqueue", lambda step, job_id: calls.append((step, job_id)))
    return calls


def csv_file(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, **files: str) -> Any:
    data = {kind: csv_file(f"{kind}.csv", text) for kind, text in files.items()}
    return client.post("/finance/import/", data)


def checked_job(client: Client, sent: list, **files: str) -> ImportJob:
    """Upload and run the check the upload sent."""
    response = upload(client, **files)
    assert response.status_code == 302, response.content.decode()
    step, job_id = sent[-1]
    assert step == "check"
    tasks.check_import(job_id)
    return ImportJob.objects.get(pk=job_id)


def ledger_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Dealer, Order, Payment, Allocation)}


# --- Upload and check -----------------------------------------------------------------------


def test_upload_stores_the_files_privately_counts_rows_and_sends_the_check(
    finance: Any, sent: list, settings: Any
) -> None:
    client = logged_in(finance)
    response = upload(client, dealers=DEALERS, orders=ORDERS)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/finance/import/{job.pk}/"
    assert job.status == ImportJob.Status.CHECKING
    assert job.started_by == finance
    assert job.created_at == NOW
    assert [(f["kind"], f["name"], f["rows"]) for f in job.files] == [
        ("dealers", "dealers.csv", 2),
        ("orders", "orders.csv", 3),
    ]
    assert job.total_rows == 5
    stored = Path(settings.MEDIA_ROOT) / job.files[1]["path"]
    assert stored == Path(settings.MEDIA_ROOT) / "imports" / str(job.pk) / "orders" / "orders.csv"
    assert stored.read_text() == ORDERS
    assert sent == [("check", job.pk)]
    # Never served: MEDIA_URL answers nothing for it.
    assert client.get(f"/media/{job.files[1]['path']}").status_code == 404


def test_a_check_with_bad_rows_lists_every_one_and_writes_nothing(finance: Any, sent: list) -> None:
    client = logged_in(finance)
    before = ledger_counts()
    job = checked_job(client, sent, dealers=DEALERS, orders=BAD_ORDERS)

    assert job.status == ImportJob.Status.CHECK_FAILED
    assert job.error_count == 2
    assert job.errors == [
        {"file": "orders.csv", "line": 3, "column": "dealer", "message": "unknown dealer 'NOPE'"},
        {
            "file": "orders.csv",
            "line": 4,
            "column": "amount",
            "message": "'lots' is not an amount (write it like 1234.50)",
        },
    ]
    assert ledger_counts() == before

    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    assert "Check found errors" in page
    assert "2 problems" in page
    assert "unknown dealer &#x27;NOPE&#x27;" in page
    assert 'data-testid="import-error"' in page
    assert "Confirm import" not in page
    assert "hx-trigger" not in page  # nothing runs: no polling
    # A failed check blocks nobody: the fixed files go up at once.
    assert upload(client, dealers=DEALERS, orders=ORDERS).status_code == 302


def test_many_bad_rows_are_paginated_with_their_count(finance: Any, sent: list) -> None:
    rows = "".join(f"B-{n},NOPE,2026-01-05,2026-02-04,10.00\n" for n in range(120))
    client = logged_in(finance)
    job = checked_job(client, sent, orders="number,dealer,ordered_on,due_on,amount\n" + rows)

    assert job.error_count == 120
    first = client.get(f"/finance/import/{job.pk}/").content.decode()
    third = client.get(f"/finance/import/{job.pk}/?page=3").content.decode()
    assert "120 problems" in first
    assert first.count('data-testid="import-error"') == 50
    assert third.count('data-testid="import-error"') == 20
    assert ">121<" in third  # the last bad line


def test_a_clean_check_shows_what_would_change_and_writes_nothing(finance: Any, sent: list) -> None:
    DealerFactory(code="FD2", name="Ferme Dupont", country="FR", currency="EUR")
    client = logged_in(finance)
    before = ledger_counts()
    job = checked_job(client, sent, dealers=DEALERS, orders=ORDERS)

    assert job.status == ImportJob.Status.CHECKED
    assert job.checked_at == NOW
    assert job.check_files == [
        {"kind": "dealers", "file": "dealers.csv", "read": 2, "created": 1, "updated": 0,
         "unchanged": 1},
        {"kind": "orders", "file": "orders.csv", "read": 3, "created": 3, "updated": 0,
         "unchanged": 0},
    ]  # fmt: skip
    assert ledger_counts() == before
    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    assert "Checked, awaiting confirmation" in page
    assert "Confirm import" in page
    assert 'data-testid="import-counts"' in page


def test_confirming_imports_the_files_and_reports_what_changed(finance: Any, sent: list) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS, orders=ORDERS, payments=PAYMENTS)

    response = client.post(f"/finance/import/{job.pk}/confirm/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IMPORTING
    assert (job.confirmed_by, job.confirmed_at) == (finance, NOW)
    assert sent[-1] == ("import", job.pk)
    assert not Order.objects.exists()  # not before the task runs

    tasks.run_import(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Order.objects.count() == 3
    assert Payment.objects.get().allocations.count() == 2
    assert job.reallocated == 2
    assert [f["created"] for f in job.result_files] == [2, 3, 1]
    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    assert 'data-status="done"' in page
    assert "Payments re-allocated: 2 allocations written." in page
    assert "hx-trigger" not in page


def test_only_the_uploader_confirms_or_discards(finance: Any, manager: Any, sent: list) -> None:
    job = checked_job(logged_in(finance), sent, dealers=DEALERS)
    other = logged_in(manager)

    page = other.get(f"/finance/import/{job.pk}/").content.decode()
    assert "Confirm import" not in page
    assert "Waiting for fiona to confirm it" in page
    other.post(f"/finance/import/{job.pk}/confirm/")
    other.post(f"/finance/import/{job.pk}/discard/")

    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    assert sent[-1][0] == "check"


# --- Progress -------------------------------------------------------------------------------


def test_the_page_polls_the_rows_done_from_the_cache_while_the_check_runs(
    finance: Any, sent: list
) -> None:
    client = logged_in(finance)
    upload(client, orders=ORDERS)
    job = ImportJob.objects.get()
    cache.set(jobs.progress_key(job.pk), 2)

    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    fragment = client.get(f"/finance/import/{job.pk}/", headers={"HX-Request": "true"})

    assert "2 of 3 rows" in page
    assert 'hx-trigger="every 1s"' in page
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="import-job"')
    assert "<html" not in body
    assert "2 of 3 rows" in body


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_while_the_import_runs_inside_its_transaction(
    finance: Any, sent: list, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.IMPORT_BATCH_SIZE = 2
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS, orders=ORDERS)
    client.post(f"/finance/import/{job.pk}/confirm/")
    seen: list[tuple[int, bool]] = []
    write = jobs._set_progress

    def spy(job_id: int, done: int) -> None:
        write(job_id, done)
        seen.append((cache.get(jobs.progress_key(job_id)), connection.in_atomic_block))

    monkeypatch.setattr(jobs, "_set_progress", spy)
    tasks.run_import(job.pk)

    # Reset when the import starts, outside its transaction; then after each batch of two
    # rows and at each file's end, inside it (where nothing written to the database
    # could be read by the page).
    assert seen == [(0, False), (2, True), (2, True), (4, True), (5, True), (5, True)]


def test_import_ledger_reports_rows_done_per_file_after_each_batch(tmp_path: Path) -> None:
    dealers = tmp_path / "dealers.csv"
    dealers.write_text(DEALERS)
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS)
    calls: list[tuple[str, int]] = []

    result = import_ledger(
        dealers=dealers, orders=orders, batch_size=2, on_rows=lambda k, n: calls.append((k, n))
    )

    assert result.ok
    assert calls == [("dealers", 2), ("dealers", 2), ("orders", 2), ("orders", 3), ("orders", 3)]


# --- One import at a time -------------------------------------------------------------------


def test_a_second_upload_is_refused_naming_who_started_the_running_one(
    finance: Any, manager: Any, sent: list
) -> None:
    upload(logged_in(finance), orders=ORDERS)

    response = upload(logged_in(manager), orders=ORDERS)

    assert response.status_code == 409
    page = response.content.decode()
    assert "One import at a time: fiona started one on 2026-03-02 15:30" in page
    assert "its files are being checked" in page
    assert ImportJob.objects.count() == 1
    assert len(sent) == 1


def test_the_database_allows_one_active_job(finance: Any) -> None:
    ImportJob.objects.create(started_by=finance, created_at=NOW)
    ImportJob.objects.create(started_by=finance, created_at=NOW, status=ImportJob.Status.DONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportJob.objects.create(
            started_by=finance, created_at=NOW, status=ImportJob.Status.IMPORTING
        )


def test_two_uploads_at_the_same_moment_cannot_both_start(
    finance: Any, manager: Any, sent: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = jobs.start_import(files={"orders": csv_file("o.csv", ORDERS)}, user=finance, now=NOW)
    # The second read "nothing active" before the first had written its row.
    answers = iter([None])
    monkeypatch.setattr(jobs, "blocking_job", lambda now: next(answers, first))

    with pytest.raises(jobs.ImportBusy) as refused:
        jobs.start_import(files={"orders": csv_file("o.csv", ORDERS)}, user=manager, now=NOW)

    assert refused.value.job == first
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_check_not_confirmed_within_the_hour_stops_blocking(
    finance: Any, manager: Any, sent: list, time_machine: Any
) -> None:
    job = checked_job(logged_in(finance), sent, dealers=DEALERS)
    assert job.status == ImportJob.Status.CHECKED
    time_machine.move_to(NOW + dt.timedelta(minutes=59), tick=False)
    assert upload(logged_in(manager), dealers=DEALERS).status_code == 409

    time_machine.move_to(NOW + dt.timedelta(minutes=61), tick=False)
    page = logged_in(finance).get(f"/finance/import/{job.pk}/").content.decode()
    assert "Not confirmed in time" in page
    assert "Confirm import" not in page
    logged_in(finance).post(f"/finance/import/{job.pk}/confirm/")
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED  # the confirmation came too late

    assert upload(logged_in(manager), dealers=DEALERS).status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.EXPIRED


def test_a_job_discarded_by_its_owner_stops_blocking(
    finance: Any, manager: Any, sent: list
) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS)

    response = client.post(f"/finance/import/{job.pk}/discard/")

    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DISCARDED
    assert upload(logged_in(manager), dealers=DEALERS).status_code == 302


def test_an_import_running_past_the_time_limit_counts_as_failed(
    finance: Any, manager: Any, sent: list, time_machine: Any
) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS)
    client.post(f"/finance/import/{job.pk}/confirm/")
    ImportJob.objects.filter(pk=job.pk).update(import_started_at=NOW)  # a worker took it, died

    time_machine.move_to(NOW + ImportJob.TIME_LIMIT - dt.timedelta(seconds=1), tick=False)
    assert upload(logged_in(manager), dealers=DEALERS).status_code == 409
    time_machine.move_to(NOW + ImportJob.TIME_LIMIT, tick=False)
    assert "Failed" in client.get(f"/finance/import/{job.pk}/").content.decode()
    assert upload(logged_in(manager), dealers=DEALERS).status_code == 302

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.failure == jobs.STALE_FAILURE


def test_the_single_row_and_the_sql_staleness_agree(finance: Any) -> None:
    S = ImportJob.Status
    hour = dt.timedelta(hours=1)
    rows = [
        ImportJob(status=S.CHECKING, created_at=NOW - ImportJob.TIME_LIMIT + hour),
        ImportJob(status=S.CHECKING, created_at=NOW - ImportJob.TIME_LIMIT),
        ImportJob(status=S.CHECKED, created_at=NOW - hour, checked_at=NOW - hour / 2),
        ImportJob(status=S.CHECKED, created_at=NOW - 2 * hour, checked_at=NOW - hour),
        ImportJob(status=S.IMPORTING, created_at=NOW - 4 * hour, confirmed_at=NOW - hour),
        ImportJob(status=S.IMPORTING, created_at=NOW - 4 * hour, confirmed_at=NOW - 3 * hour),
        ImportJob(
            status=S.IMPORTING,
            created_at=NOW - 4 * hour,
            confirmed_at=NOW - 3 * hour,
            import_started_at=NOW - hour,
        ),
        ImportJob(status=S.DONE, created_at=NOW - 9 * hour),
    ]
    for n, job in enumerate(rows):
        job.slot = f"t{n}"  # several active rows at once, for this test only
        job.save()

    in_sql = set(ImportJob.objects.blocking(NOW).values_list("pk", flat=True))
    stale_in_sql = set(ImportJob.objects.stale(NOW).values_list("pk", flat=True))

    assert in_sql == {job.pk for job in rows if job.blocks_on(NOW)}
    assert stale_in_sql == {job.pk for job in rows if job.stale_on(NOW)}
    assert [job.blocks_on(NOW) for job in rows] == [1, 0, 1, 0, 1, 0, 1, 0]


# --- Tasks ---------------------------------------------------------------------------------


def test_tasks_are_safe_to_run_twice(finance: Any, sent: list) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS, orders=ORDERS)
    tasks.check_import(job.pk)  # again: the job is checked, the second does nothing
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CHECKED
    client.post(f"/finance/import/{job.pk}/confirm/")

    assert tasks.run_import(job.pk) == ImportJob.Status.DONE
    done = ImportJob.objects.get(pk=job.pk)
    orders_history = Order.history.count()
    assert tasks.run_import(job.pk) == ImportJob.Status.DONE

    job.refresh_from_db()
    assert (job.result_files, job.finished_at) == (done.result_files, done.finished_at)
    assert Order.history.count() == orders_history


def test_a_second_delivery_while_the_import_runs_does_not_import_again(
    finance: Any, sent: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS)
    client.post(f"/finance/import/{job.pk}/confirm/")
    ImportJob.objects.filter(pk=job.pk).update(import_started_at=NOW)  # claimed by a worker
    monkeypatch.setattr(jobs, "import_ledger", lambda **kw: pytest.fail("imported twice"))

    assert tasks.run_import(job.pk) == ImportJob.Status.IMPORTING


def test_tasks_do_nothing_for_an_unknown_job(caplog: Any) -> None:
    with caplog.at_level(logging.INFO, logger="receivables.importing.jobs"):
        assert tasks.check_import(987654) is None
        assert tasks.run_import(987654) is None
    assert "import job 987654 does not exist: nothing to check" in caplog.text
    assert "import job 987654 does not exist: nothing to import" in caplog.text


def test_a_crashed_import_fails_its_job_with_the_reason(
    finance: Any, sent: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS)
    client.post(f"/finance/import/{job.pk}/confirm/")

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "import_ledger", crash)
    with pytest.raises(RuntimeError):
        tasks.run_import(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.failure == "RuntimeError: disk full"
    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    assert "The import stopped before it finished: nothing was written." in page
    assert upload(client, dealers=DEALERS).status_code == 302


def test_rows_refused_at_import_time_fail_the_job_and_write_nothing(
    finance: Any, sent: list
) -> None:
    DealerFactory(code="FD1")
    client = logged_in(finance)
    job = checked_job(client, sent, orders=ORDERS.replace("FD2", "FD1"))
    client.post(f"/finance/import/{job.pk}/confirm/")
    Dealer.objects.filter(code="FD1").delete()  # the ledger changed after the check

    tasks.run_import(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.error_count == 3
    assert not Order.objects.exists()
    page = client.get(f"/finance/import/{job.pk}/").content.decode()
    assert "The import found problems the check had not" in page
    assert "3 problems" in page


# --- The form and who may use it ------------------------------------------------------------


def test_an_upload_without_files_or_with_another_format_is_refused(
    finance: Any, sent: list
) -> None:
    client = logged_in(finance)
    empty = client.post("/finance/import/", {})
    pdf = client.post("/finance/import/", {"orders": SimpleUploadedFile("orders.pdf", b"%PDF-1.4")})

    assert empty.status_code == 400
    assert "Choose at least one file to import." in empty.content.decode()
    assert pdf.status_code == 400
    assert "“orders.pdf” is neither a CSV nor an XLSX file." in pdf.content.decode()
    assert not ImportJob.objects.exists()
    assert sent == []


@pytest.mark.parametrize("role", ["collector", "agency", "auditor"])
def test_other_roles_get_the_403_page(role: str, sent: list) -> None:
    client = logged_in(UserFactory(role=role))
    job = ImportJob.objects.create(created_at=NOW)

    for url in ("/finance/", "/finance/import/", f"/finance/import/{job.pk}/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "The finance desk is for finance and managers." in response.content.decode()
    assert upload(client, orders=ORDERS).status_code == 403
    assert client.post(f"/finance/import/{job.pk}/discard/").status_code == 403
    assert ImportJob.objects.count() == 1


def test_anonymous_users_are_sent_to_log_in() -> None:
    response = Client().get("/finance/import/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["finance", "manager"])
def test_finance_and_managers_see_the_desk_with_what_they_may_use(role: str) -> None:
    page = logged_in(UserFactory(role=role)).get("/finance/").content.decode()

    assert "Start an import" in page
    assert "Record a payment" in page
    assert 'href="/print-room/"' in page


def test_the_desk_shows_the_last_import_and_hides_start_while_one_runs(
    finance: Any, sent: list
) -> None:
    client = logged_in(finance)
    upload(client, orders=ORDERS)

    page = client.get("/finance/").content.decode()

    assert "Checking" in page
    assert "Start an import" not in page
    job = ImportJob.objects.get()
    assert f'href="/finance/import/{job.pk}/"' in page


# --- Query counts ---------------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


def test_the_import_pages_cost_the_same_queries_for_10_and_200_dealers(
    finance: Any, collector: Any, sent: list
) -> None:
    client = logged_in(finance)
    job = checked_job(client, sent, dealers=DEALERS)
    for n in range(15):  # the list of imports has pages
        ImportJob.objects.create(created_at=NOW - dt.timedelta(days=n + 1), status="done")
    urls = [
        "/finance/",
        "/finance/import/",
        "/finance/import/?page=2",
        f"/finance/import/{job.pk}/",
    ]

    grow_book(10, collector=collector, requester=finance)
    small = {url: count_queries(client, url) for url in urls}
    grow_book(200, collector=collector, requester=finance)
    large = {url: count_queries(client, url) for url in urls}

    assert small == large

"""Imports started from the finance desk, one at a time, checked before anything is written.

The life of an `ImportJob`:

    upload -> checking -> checked --confirm--> importing -> done
                 |           |                     '-----> failed
                 |           |--discard--> discarded
                 |           '--an hour--> expired (not confirmed in time)
                 '--> check_failed (every bad row listed; fix the files, upload again)

`start_import` stores the files privately (MEDIA_ROOT/imports/<job>/<kind>/, never under
a URL), counts their data rows and creates the job; the check (`check_job`, a dry run of
`import_ledger`) and the import (`import_job`) run in Celery tasks (receivables/tasks.py)
that take the job's id. Both are safe to run twice and do nothing for an unknown id: each
moves the job on only from the state it expects, by a conditional UPDATE, and the import
is claimed before it runs, so a message delivered twice imports once.

The rows done so far go to the cache, not the database: the import writes in one long
transaction, from inside which nothing it writes is visible to the page asking.

One import at a time is the database's rule (the partial unique constraint on active
jobs); a job that crashed or was never confirmed stops blocking when its time is up
(`ImportJob.stale_on`), and the next upload writes down what became of it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_noop

from receivables.importing.files import ImportFileError, open_table
from receivables.importing.rows import SPECS
from receivables.importing.service import FileResult, ImportResult, import_ledger
from receivables.models import ImportJob

if TYPE_CHECKING:
    import datetime as dt

    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

log = logging.getLogger(__name__)

# The files an import takes, in the order it reads them.
KINDS: tuple[str, ...] = tuple(SPECS)
IMPORTS_DIR = "imports"
# How long the rows done stay in the cache: longer than any check or import runs.
PROGRESS_TIMEOUT = int(ImportJob.TIME_LIMIT.total_seconds()) * 2
Status = ImportJob.Status
# Why a check or an import past its time limit failed; stored as it is (a crash stores
# its exception), translated when shown.
STALE_FAILURE = gettext_noop("It did not finish within its time limit: its worker stopped.")


class ImportBusy(Exception):
    """Another import is active: `job` (None when it finished in the meantime)."""

    def __init__(self, job: ImportJob | None) -> None:
        super().__init__(f"another import is active: {job}")
        self.job = job


class JobRefused(Exception):
    """A confirmation or discard that the job's state does not allow; `reason` says why
    in a word the page words: "not_yours", "expired", "not_checked"."""

    def __init__(self, reason: Literal["not_yours", "expired", "not_checked"]) -> None:
        super().__init__(reason)
        self.reason = reason


def enqueue(step: Literal["check", "import"], job_id: int) -> None:
    """Send the job's check or import to Celery once the current transaction commits."""
    from receivables import tasks  # the tasks import this module

    task = tasks.check_import if step == "check" else tasks.run_import
    task.delay_on_commit(job_id)


# --- Reading ------------------------------------------------------------------------------


def blocking_job(*, now: dt.datetime) -> ImportJob | None:
    """The job that keeps another import from starting now, if any."""
    return ImportJob.objects.blocking(now).select_related("started_by").defer("errors").first()


def progress_key(job_id: int) -> str:
    return f"receivables:import-job:{job_id}:rows-done"


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else min(100, self.done * 100 // self.total)


def progress_of(job: ImportJob) -> Progress:
    """Rows done of the job's total while its check or import runs (from the cache,
    written by the worker); all of them once it is over."""
    if job.status in (Status.CHECKING, Status.IMPORTING):
        try:
            done = int(cache.get(progress_key(job.pk)) or 0)
        except Exception:  # a cache that cannot be read shows no progress, not an error
            log.warning("import job %s: cannot read its progress", job.pk, exc_info=True)
            done = 0
        return Progress(done=min(done, job.total_rows), total=job.total_rows)
    return Progress(done=job.total_rows, total=job.total_rows)


# --- Starting, confirming, discarding ----------------------------------------------------


def start_import(
    *,
    files: Mapping[str, UploadedFile],
    user: User,
    now: dt.datetime,
) -> ImportJob:
    """Store the uploaded files (by kind: dealers, orders, payments, rates), create their
    job and send it to be checked once this commits. Raises `ImportBusy` while another
    job is active; the database decides between two uploads at the same moment.

    Atomic from the job's creation on, not before: the refusal is read outside any
    transaction, because on SQLite a transaction takes the write lock up front and a
    running import holds it until it ends."""
    if not any(kind in files for kind in KINDS):
        raise ValueError("no file to import")
    if (active := blocking_job(now=now)) is not None:
        raise ImportBusy(active)
    with transaction.atomic():
        _write_down_stale(now)
        try:
            with transaction.atomic():
                job = ImportJob.objects.create(started_by=user, created_at=now)
        except IntegrityError:
            raise ImportBusy(blocking_job(now=now)) from None
        folder = Path(settings.MEDIA_ROOT) / IMPORTS_DIR / str(job.pk)
        try:
            job.files = [_store(folder, kind, files[kind]) for kind in KINDS if kind in files]
            job.total_rows = sum(f["rows"] for f in job.files)
            job.save(update_fields=["files", "total_rows"])
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        enqueue("check", job.pk)
    return job


def _write_down_stale(now: dt.datetime) -> None:
    """Give the jobs that stopped blocking the status they have in fact: a check or an
    import past its time limit crashed; a clean check past its hour expired."""
    stale = ImportJob.objects.stale(now)
    stale.filter(status=Status.CHECKED).update(status=Status.EXPIRED, finished_at=now)
    stale.filter(status__in=[Status.CHECKING, Status.IMPORTING]).update(
        status=Status.FAILED,
        finished_at=now,
        failure=STALE_FAILURE,
    )


def _store(folder: Path, kind: str, upload: UploadedFile) -> dict[str, Any]:
    """Write one uploaded file under `folder`/`kind`/ by its own name (its errors name
    it) and count its data rows."""
    given = Path(upload.name or "").name
    try:
        name = get_valid_filename(given)[-100:]
    except SuspiciousFileOperation:
        name = f"{kind}.csv"
    path = folder / kind / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return {
        "kind": kind,
        "name": name,
        "path": str(path.relative_to(settings.MEDIA_ROOT)),
        "rows": count_rows(path),
    }


def count_rows(path: Path) -> int:
    """The data rows of a CSV or XLSX file as the import reads them (blank rows left
    out); 0 for a file it cannot read, whose check will say why."""
    try:
        with open_table(path, lambda line, column, message: None) as (_line, _header, rows):
            return sum(1 for _row in rows)
    except ImportFileError:
        return 0


@transaction.atomic
def confirm_import(*, job_id: int, user: User, now: dt.datetime) -> ImportJob:
    """Start the import of a clean check: only by whoever uploaded the files, within the
    hour after the check. The import itself runs in a task sent once this commits."""
    confirmed = ImportJob.objects.filter(
        pk=job_id,
        status=Status.CHECKED,
        started_by=user.pk,
        checked_at__gt=now - ImportJob.CONFIRM_WITHIN,
    ).update(status=Status.IMPORTING, confirmed_by=user.pk, confirmed_at=now)
    job = ImportJob.objects.get(pk=job_id)
    if not confirmed:
        raise JobRefused(_refusal(job, user, now))
    _set_progress(job.pk, 0)
    enqueue("import", job.pk)
    return job


@transaction.atomic
def discard_import(*, job_id: int, user: User, now: dt.datetime) -> ImportJob:
    """Give up a job that is being checked or awaits confirmation: only by whoever
    uploaded the files. It stops blocking at once; a check still running finds it
    discarded and leaves it so."""
    discarded = ImportJob.objects.filter(
        pk=job_id, status__in=[Status.CHECKING, Status.CHECKED], started_by=user.pk
    ).update(status=Status.DISCARDED, finished_at=now)
    job = ImportJob.objects.get(pk=job_id)
    if not discarded:
        raise JobRefused(_refusal(job, user, now))
    return job


def _refusal(
    job: ImportJob, user: User, now: dt.datetime
) -> Literal["not_yours", "expired", "not_checked"]:
    if job.started_by_id != user.pk:
        return "not_yours"
    if job.status_on(now) == Status.EXPIRED:
        return "expired"
    return "not_checked"


# --- The work, in the worker --------------------------------------------------------------


def check_job(*, job_id: int) -> ImportJob | None:
    """Check the job's files (a dry run of the import: every bad row, and what would
    change), then record the outcome, unless the job has moved on meanwhile."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        log.warning("import job %s does not exist: nothing to check", job_id)
        return None
    if job.status != Status.CHECKING:
        log.info("import job %s is %s: not checking it again", job_id, job.status)
        return job
    result = _run(job, dry_run=True)
    outcome: dict[str, Any] = {
        "status": Status.CHECKED if result.ok else Status.CHECK_FAILED,
        "checked_at": timezone.now(),
        "check_files": _file_counts(result.files),
        **_errors(result),
    }
    if not result.ok:
        outcome["finished_at"] = outcome["checked_at"]
    if not ImportJob.objects.filter(pk=job_id, status=Status.CHECKING).update(**outcome):
        log.info("import job %s changed while it was checked: its check is dropped", job_id)
    job.refresh_from_db()
    return job


def import_job(*, job_id: int) -> ImportJob | None:
    """Import a confirmed job's files, once: the run claims the job first, so that a
    second delivery of the same message does nothing. The import checks every row
    again (the ledger may have changed since the check); a row refused now fails the job
    with its errors, and nothing is written."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        log.warning("import job %s does not exist: nothing to import", job_id)
        return None
    claimed = ImportJob.objects.filter(
        pk=job_id, status=Status.IMPORTING, import_started_at__isnull=True
    ).update(import_started_at=timezone.now())
    if not claimed:
        log.info("import job %s is %s and claimed: not importing it again", job_id, job.status)
        return job
    result = _run(job, dry_run=False)
    outcome: dict[str, Any] = {
        "status": Status.DONE if result.ok else Status.FAILED,
        "finished_at": timezone.now(),
        "result_files": _file_counts(result.files),
        **_errors(result),
    }
    if result.ok:
        outcome["reallocated"] = result.reallocated
    if not ImportJob.objects.filter(pk=job_id, status=Status.IMPORTING).update(**outcome):
        log.error("import job %s: imported, but its row had moved on from importing", job_id)
    job.refresh_from_db()
    return job


def _run(job: ImportJob, *, dry_run: bool) -> ImportResult:
    """`import_ledger` on the job's files, the rows done going to the cache; a crash
    (the database, the time limit) fails the job with its reason before it is raised."""
    paths = {f["kind"]: Path(settings.MEDIA_ROOT) / f["path"] for f in job.files}
    _set_progress(job.pk, 0)
    try:
        return import_ledger(dry_run=dry_run, on_rows=_RowsDone(job), **paths)
    except BaseException as exc:
        active = Status.CHECKING if dry_run else Status.IMPORTING
        ImportJob.objects.filter(pk=job.pk, status=active).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            failure=f"{type(exc).__name__}: {exc}"[:2000],
        )
        log.exception("import job %s stopped", job.pk)
        raise


class _RowsDone:
    """`on_rows` for `import_ledger`: the rows done over all the job's files, in the
    cache. Files are read in `KINDS` order, so a file's rows add to those before it."""

    def __init__(self, job: ImportJob) -> None:
        self.job_id = job.pk
        self.total = job.total_rows
        self.before: dict[str, int] = {}
        done_before = 0
        for stored in job.files:
            self.before[stored["kind"]] = done_before
            done_before += stored["rows"]

    def __call__(self, kind: str, done: int) -> None:
        _set_progress(self.job_id, min(self.before.get(kind, 0) + done, self.total))


def _set_progress(job_id: int, done: int) -> None:
    try:
        cache.set(progress_key(job_id), done, PROGRESS_TIMEOUT)
    except Exception:  # a progress bar is not worth failing an import for
        log.warning("import job %s: cannot write its progress", job_id, exc_info=True)


def _file_counts(files: list[FileResult]) -> list[dict[str, Any]]:
    return [
        {
            "kind": f.kind,
            "file": f.file,
            "read": f.read,
            "created": f.created,
            "updated": f.updated,
            "unchanged": f.unchanged,
        }
        for f in files
    ]


def _errors(result: ImportResult) -> dict[str, Any]:
    """Every bad row, up to `ImportJob.MAX_STORED_ERRORS`, and how many there were."""
    return {
        "errors": [
            {"file": e.file, "line": e.line, "column": e.column, "message": e.message}
            for e in result.errors[: ImportJob.MAX_STORED_ERRORS]
        ],
        "error_count": len(result.errors),
    }

"""Celery tasks of the ledger: the check and the import of a finance desk upload.

Thin: each takes a job's id and calls one service of `receivables.importing.jobs`, which
makes it safe to run twice (it moves the job on only from the state it expects) and
leaves an unknown id alone, with a line in the log: the test suites and a running desk
may share a broker.

The hard time limit is `ImportJob.TIME_LIMIT`, after which a job that has not finished
counts as failed; the soft limit comes a few minutes before, so that the job is marked
failed with its reason rather than left for the clock.
"""

from __future__ import annotations

from celery import shared_task

from receivables.importing import jobs
from receivables.models import ImportJob

TIME_LIMIT = int(ImportJob.TIME_LIMIT.total_seconds())
SOFT_TIME_LIMIT = TIME_LIMIT - 5 * 60


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def check_import(job_id: int) -> str | None:
    """Check an upload's files: every bad row, and what an import would change."""
    job = jobs.check_job(job_id=job_id)
    return job.status if job else None


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=SOFT_TIME_LIMIT,
    time_limit=TIME_LIMIT,
)
def run_import(job_id: int) -> str | None:
    """Import a confirmed upload's files (once, however often the message comes)."""
    job = jobs.import_job(job_id=job_id)
    return job.status if job else None

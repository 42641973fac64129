"""Celery tasks: thin, taking ids and dates, each calling one service of `dunning.sweep`.

Beat runs `start_daily_sweep` at 06:00 business time (settings.CELERY_BEAT_SCHEDULE). It
enqueues one `sweep_batch` per batch of dealers that is not done yet, so several workers
share the day. A batch claims itself in the database before it does anything, so a
message delivered twice (acks_late after a lost worker) or a start run twice does a batch
once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.db import IntegrityError, OperationalError

from dunning import sweep


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=120)
def start_daily_sweep(
    business_date_iso: str | None = None, batch_size: int = sweep.BATCH_SIZE
) -> list[int]:
    """Enqueue the batches of a business date (default: today in the business zone) that
    are not done yet. Returns their numbers."""
    today = (
        dt.date.fromisoformat(business_date_iso) if business_date_iso else sweep.business_today()
    )
    numbers = sweep.pending_batch_numbers(today=today, batch_size=batch_size)
    for number in numbers:
        sweep_batch.delay_on_commit(today.isoformat(), number, batch_size)
    return numbers


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=5 * 60,
    time_limit=6 * 60,
    # A batch that lost a race with a collector's change (a lock timeout, a request
    # created at the same moment) rolled back whole, claim included: do it again.
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=3,
)
def sweep_batch(self: Any, business_date_iso: str, number: int, batch_size: int) -> dict:
    result = sweep.sweep_batch(
        today=dt.date.fromisoformat(business_date_iso),
        number=number,
        batch_size=batch_size,
        worker=self.request.hostname or "",
    )
    return result.as_dict()


RENDER_RETRIES = 3


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=120,
    max_retries=RENDER_RETRIES,
)
def render_letter(self: Any, letter_id: int) -> str:
    """Render and store one letter (`dunning.printing.store_pdf`); safe to run twice.
    A failure is retried with a growing pause; after the last retry the letter shows as
    failed, with the reason, and the sweep's other work stands."""
    from dunning import printing

    try:
        return printing.store_pdf(letter_id).sha256
    except Exception as exc:
        if self.request.retries >= RENDER_RETRIES:
            printing.mark_failed(letter_id, f"{type(exc).__name__}: {exc}")
            raise
        raise self.retry(exc=exc, countdown=10 * 2**self.request.retries) from exc

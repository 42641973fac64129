"""Celery tasks: thin, taking ids and dates, each calling one service of `dunning.sweep`.

Beat runs `start_daily_sweep` at 06:00 business time (settings.CELERY_BEAT_SCHEDULE). It
enqueues one `sweep_batch` per batch of dealers that is not done yet, so several workers
share the day. A batch claims itself in the database before it does anything, so a
message delivered twice (acks_late after a lost worker) or a start run twice does a batch
once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from celery import shared_task
from django.db import IntegrityError, OperationalError

from dunning import sweep
from dunning.models import Letter


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


# Letters per `render_letters` task, laid out as one document: enough to share the cost of
# subsetting its fonts (fontTools: ~0.2 s a document), while the memory of a worker grows
# with it (docs/BENCHMARKS.md, "Letters": 10 to 100 letters, the rate stays level).
RENDER_BATCH_SIZE = 25


class LettersNotRendered(RuntimeError):
    """Some letters of a batch were still not rendered after the last retry (each one is
    marked failed, with its reason)."""


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # A batch takes seconds; the time limits allow for every letter of it falling back to
    # being rendered alone, a Chinese one without HarfBuzz-Subset taking about 2 s.
    soft_time_limit=5 * 60,
    time_limit=6 * 60,
    max_retries=RENDER_RETRIES,
)
def render_letters(self: Any, letter_ids: list[int]) -> dict[str, int]:
    """Render and store a batch of letters (`dunning.printing.store_pdfs`); safe to run
    twice, a letter already stored is not rendered again. A letter that fails in the
    batch is rendered alone; the letters still not stored are retried with a growing
    pause, and after the last retry each is marked failed with its reason (the others
    stay stored)."""
    from dunning import printing

    try:
        outcome = printing.store_pdfs(letter_ids)
    except Exception as exc:  # the batch as a whole: the database, the time limit
        failures = {letter_id: f"{type(exc).__name__}: {exc}" for letter_id in letter_ids}
    else:
        failures = outcome.failures
        if not failures:
            return {"stored": len(outcome.stored), "already": len(outcome.already)}
    if self.request.retries >= RENDER_RETRIES:
        for letter_id, reason in failures.items():
            printing.mark_failed(letter_id, reason)
        raise LettersNotRendered(
            f"{len(failures)} of {len(letter_ids)} letters not rendered: "
            + "; ".join(f"#{letter_id}: {reason}" for letter_id, reason in failures.items())
        )
    raise self.retry(args=[sorted(failures)], countdown=10 * 2**self.request.retries)


def enqueue_rendering(
    letters: Iterable[Letter | int], *, batch_size: int = RENDER_BATCH_SIZE
) -> list[list[int]]:
    """Render letters (or letter ids) in batches (`rendering_batches`), each a
    `render_letters` task sent once the current transaction commits (at once outside
    one). Returns the batches."""
    batches = rendering_batches(letters, batch_size=batch_size)
    for batch in batches:
        render_letters.delay_on_commit(batch)
    return batches


def rendering_batches(
    letters: Iterable[Letter | int], *, batch_size: int = RENDER_BATCH_SIZE
) -> list[list[int]]:
    """The ids of `letters` (saved ones) in batches of `batch_size`, letters of one kind
    and language together, since a batch lays them out as one document; ids as given."""
    keyed = []
    for letter in letters:
        if isinstance(letter, Letter):
            if letter.pk is not None:
                keyed.append(((letter.kind, _language(letter)), letter.pk))
        else:
            keyed.append((("", ""), letter))
    ids = [letter_id for _key, letter_id in sorted(keyed, key=lambda pair: pair[0])]
    return [ids[start : start + batch_size] for start in range(0, len(ids), batch_size)]


def _language(letter: Letter) -> str:
    """The language the letter is written in, as far as known without a query."""
    from dunning.printing import letter_language

    if letter.language:
        return letter_language(letter.language)
    if Letter.dealer.is_cached(letter):  # type: ignore[attr-defined]
        return letter_language(letter.dealer.language)
    return ""


@shared_task(soft_time_limit=4 * 60, time_limit=5 * 60)
def refresh_team_desk(business_date_iso: str | None = None) -> str:
    """Recompute the team desk's figures of a business date (default: today) and keep
    them in the shared cache (`dunning.desk.refresh_team_figures`), so that the page
    reads them instead of computing them. Beat runs it every five minutes; running it
    twice only stores the figures twice. Returns when they were computed."""
    from django.utils import timezone

    from dunning import desk

    today = (
        dt.date.fromisoformat(business_date_iso) if business_date_iso else sweep.business_today()
    )
    return desk.refresh_team_figures(today=today, now=timezone.now()).computed_at.isoformat()

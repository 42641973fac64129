"""Running the sweep: batches of dealer ids, each claimed once per business date, done
one after the other in this process (`run_sweep`) or one per Celery task (`sweep_batch`,
see `dunning.tasks`). The work of one batch is `dunning.sweep.batch.sweep_dealers`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dunning.models import CollectionPolicy, SweepBatch
from dunning.sweep.batch import sweep_dealers
from receivables.models import ZERO, Dealer

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


class BatchSizeMismatch(ValueError):
    """A date's batches were claimed with another batch size."""


@dataclass
class BatchResult:
    number: int
    done: bool  # False: another run or worker had already claimed the batch
    dealers: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    interest_total: Decimal = ZERO
    worker: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "done": self.done,
            "dealers": self.dealers,
            "counts": dict(sorted(self.counts.items())),
            "interest_total": f"{self.interest_total:.2f}",
            "worker": self.worker,
        }

    def describe(self) -> str:
        if not self.done:
            return f"batch {self.number}: already done, skipped"
        done = ", ".join(f"{k} {v}" for k, v in sorted(self.counts.items())) or "no changes"
        return f"batch {self.number}: {self.dealers} dealers; {done}"


@dataclass
class SweepSummary:
    business_date: dt.date
    batches: list[BatchResult] = field(default_factory=list)

    @property
    def done(self) -> list[int]:
        return [b.number for b in self.batches if b.done]

    @property
    def skipped(self) -> list[int]:
        return [b.number for b in self.batches if not b.done]

    @property
    def dealers(self) -> int:
        return sum(b.dealers for b in self.batches)

    @property
    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for batch in self.batches:
            total.update(batch.counts)
        return total

    @property
    def interest_total(self) -> Decimal:
        return sum((b.interest_total for b in self.batches), ZERO)

    def describe(self) -> str:
        lines = [
            f"Sweep of {self.business_date:%Y-%m-%d}: {len(self.done)} batches done, "
            f"{len(self.skipped)} already done; {self.dealers} dealers swept."
        ]
        lines += [f"  {key}: {value}" for key, value in sorted(self.counts.items())]
        if self.interest_total:
            lines.append(f"  interest posted: {self.interest_total:.2f}")
        return "\n".join(lines)


def batch_range(number: int, batch_size: int) -> tuple[int, int]:
    """The dealer ids of a batch, both included: batch n holds ids with id // size == n."""
    return number * batch_size, (number + 1) * batch_size - 1


def batch_numbers(*, batch_size: int = BATCH_SIZE) -> list[int]:
    """The batches that hold at least one dealer."""
    numbers = (
        Dealer.objects.annotate(batch=F("pk") / batch_size)
        .order_by("batch")
        .values_list("batch", flat=True)
        .distinct()
    )
    return [int(n) for n in numbers]


def claimed_batch_numbers(*, today: dt.date, batch_size: int = BATCH_SIZE) -> set[int]:
    """The batches of this date already done. A date's batches are numbered for one batch
    size: mixing sizes would skip dealers, so it is refused."""
    claimed = set()
    for number, first, last in SweepBatch.objects.filter(business_date=today).values_list(
        "number", "first_dealer_id", "last_dealer_id"
    ):
        if last - first + 1 != batch_size:
            raise BatchSizeMismatch(
                f"The sweep of {today:%Y-%m-%d} ran with batches of {last - first + 1} "
                f"dealers; run it again with that batch size, not {batch_size}."
            )
        claimed.add(number)
    return claimed


def pending_batch_numbers(*, today: dt.date, batch_size: int = BATCH_SIZE) -> list[int]:
    claimed = claimed_batch_numbers(today=today, batch_size=batch_size)
    return [n for n in batch_numbers(batch_size=batch_size) if n not in claimed]


def run_sweep(
    *,
    today: dt.date,
    batch_size: int = BATCH_SIZE,
    batches: list[int] | None = None,
    progress: Callable[[BatchResult], None] | None = None,
) -> SweepSummary:
    """The daily sweep for a business date, batch after batch in this process. Batches
    another run or worker has done are skipped, so running it twice does nothing more."""
    claimed_batch_numbers(today=today, batch_size=batch_size)  # refuses a mixed batch size
    policy = CollectionPolicy.current()
    numbers = batches if batches is not None else batch_numbers(batch_size=batch_size)
    summary = SweepSummary(business_date=today)
    for number in numbers:
        result = sweep_batch(today=today, number=number, batch_size=batch_size, policy=policy)
        summary.batches.append(result)
        if progress is not None:
            progress(result)
    return summary


def sweep_batch(
    *,
    today: dt.date,
    number: int,
    batch_size: int = BATCH_SIZE,
    policy: CollectionPolicy | None = None,
    worker: str = "",
) -> BatchResult:
    """Sweep one batch of dealers in one transaction, unless it is already done.

    The claim (a `SweepBatch` row, unique per date and number) is inserted first: a second
    run or worker blocks on it until the first commits, then finds it and skips. A batch
    that fails rolls back with its claim, so a retry does it again from the start.
    """
    first, last = batch_range(number, batch_size)
    with transaction.atomic():
        claim = _claim(today=today, number=number, first=first, last=last)
        if claim is None:
            return BatchResult(number=number, done=False, worker=worker)
        outcome = sweep_dealers(
            today=today, policy=policy or CollectionPolicy.current(), first=first, last=last
        )
        result = BatchResult(
            number=number,
            done=True,
            dealers=outcome.dealers,
            counts=outcome.counts,
            interest_total=outcome.interest_total,
            worker=worker,
        )
        claim.summary = result.as_dict()
        claim.finished_at = timezone.now()
        claim.save(update_fields=["summary", "finished_at"])
    logger.info("Sweep %s %s", today, result.describe())
    return result


def _claim(*, today: dt.date, number: int, first: int, last: int) -> SweepBatch | None:
    try:
        with transaction.atomic():
            return SweepBatch.objects.create(
                business_date=today, number=number, first_dealer_id=first, last_dealer_id=last
            )
    except IntegrityError:
        return None

"""The daily collection sweep (issue 3, "The daily sweep"): for one business date, for
every dealer that needs it,

1. stage moves: `current -> reminder` when something is past due beyond the grace days,
   `reminder -> soft` at `soft_after_days`, back to `current` from reminder, soft, hard or
   litigation when nothing is past due; each recorded as a `StageChange` by the sweep;
2. promise checks the day after a promise's date: kept, partly kept or broken, from the
   money received in its window; a broken one opens a follow-up call for the collector on
   the next business day (none in `NOT_CALLED_STAGES`: litigation, agency, written off,
   where nobody calls); open promises of an account settled today count as kept;
3. escalation to `hard` proposed at `hard_proposal_days` past due or on the second broken
   promise within the window, with an alert for the managers; a pending request whose
   move the state machine no longer allows after the moves (the dealer paid, the stage
   moved, the account is already there) closed, saying why, its alert acknowledged;
4. letters (records; rendering is elsewhere): reminder 1 and 2, then the final demand with
   the written interest notice, each once per overdue episode;
5. interest after the notice's deadline, posted as an interest order that payments settle;
6. a limitation warning when the limitation period of the oldest overdue order nears.

It runs in batches of dealer ids (batch n holds ids with `id // batch_size == n`). A batch
is one transaction that first claims `SweepBatch(date, n)`: whoever comes second, a second
run or another worker, skips it. The same rules run by `run_collection_sweep` in one
process, or by Celery beat at 06:00 business time as one task per batch
(`dunning.tasks.start_daily_sweep`).

A batch (`dunning.sweep.batch.sweep_dealers`) runs the deciding steps of
`dunning.sweep.steps` in the order above, each returning its decisions, and
`dunning.sweep.writer` saves them all in bulk. Which moves are possible, and what each
stage means for letters, interest and the limitation watch, is the state machine's
(`dunning.models.stages`); whether a proposal is held back is
`dunning.services.escalations.propose_escalations`'.

Everything outside the database (e-mail to managers) goes after the batch commits.
"""

from dunning.sweep.runner import (
    BATCH_SIZE,
    BatchResult,
    BatchSizeMismatch,
    SweepSummary,
    batch_numbers,
    batch_range,
    claimed_batch_numbers,
    pending_batch_numbers,
    run_sweep,
    sweep_batch,
)
from receivables.dates import business_today

__all__ = [
    "BATCH_SIZE",
    "BatchResult",
    "BatchSizeMismatch",
    "SweepSummary",
    "batch_numbers",
    "batch_range",
    "business_today",
    "claimed_batch_numbers",
    "pending_batch_numbers",
    "run_sweep",
    "sweep_batch",
]

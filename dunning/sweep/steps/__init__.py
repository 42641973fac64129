"""The deciding steps of a batch of the sweep. Each takes what it needs (the batch's locked
accounts, their facts, the policy, the business date, earlier steps' decisions) and returns
its decisions; none writes. `dunning.sweep.batch.sweep_dealers` runs them in order and
`dunning.sweep.writer.write_decisions` saves what they decided.

One module per kind of decision: `stages` (moves and proposals), `escalations` (pending
requests the moves made pointless, closed), `promises`, `letters` (letters and interest)
and `limitation`.

What a stage means (which moves the sweep makes, who gets letters, where interest runs,
where the limitation clock is watched) is asked of the account's state machine
(`dunning.models.stages`); the figures come from the policy and `dunning.sweep.rules`.
A step that needs more than the facts reads it for all dealers of the batch at once, so
that the number of queries never depends on the number of dealers.
"""

from dunning.sweep.steps.escalations import (
    Closure,
    StaleEscalations,
    close_stale_escalations,
    pending_requests,
)
from dunning.sweep.steps.letters import (
    InterestDecisions,
    LetterDecisions,
    issue_letters,
    load_cycle_letters,
    post_interest,
)
from dunning.sweep.steps.limitation import LimitationWarnings, warn_of_limitation
from dunning.sweep.steps.promises import PromiseDecisions, check_promises
from dunning.sweep.steps.stages import StageMoves, move_stages, propose_hard

__all__ = [
    "Closure",
    "InterestDecisions",
    "LetterDecisions",
    "LimitationWarnings",
    "PromiseDecisions",
    "StageMoves",
    "StaleEscalations",
    "check_promises",
    "close_stale_escalations",
    "issue_letters",
    "load_cycle_letters",
    "move_stages",
    "pending_requests",
    "post_interest",
    "propose_hard",
    "warn_of_limitation",
]

"""Stage moves and escalation proposals: what the state machine allows today."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django_fsm import can_proceed

from dunning.figures import DealerFacts
from dunning.models import CollectionAccount, CollectionPolicy, Stage, StageChange
from dunning.services.escalations import Proposal


@dataclass
class StageMoves:
    changes: list[StageChange] = field(default_factory=list)
    # The accounts to save: moved, or given an episode date; with the episode date each
    # had when loaded, to tell which dates changed.
    accounts: dict[int, CollectionAccount] = field(default_factory=dict)
    cycles_as_loaded: dict[int, dt.date | None] = field(default_factory=dict)
    moved: set[int] = field(default_factory=set)
    # Back to current today: their open promises count as kept.
    settled: set[int] = field(default_factory=set)


def move_stages(
    accounts: Mapping[int, CollectionAccount],
    facts: Mapping[int, DealerFacts],
    *,
    today: dt.date,
    policy: CollectionPolicy,
) -> StageMoves:
    """The automatic moves the state machine allows today (`remind`, `soften`, `settle`),
    one after the other, so that a dealer first seen 35 days late passes reminder on its
    way to soft. The transitions change the account instances: the steps after this one
    see the stage of after the moves."""
    moves = StageMoves()
    if policy.grace_days:
        grace = f"reminder after {policy.grace_days} days' grace"
    else:
        grace = "reminder when anything is past due"
    for dealer_id, account in accounts.items():
        days = facts[dealer_id].overdue_days
        cycle_as_loaded = account.cycle_started_on
        if can_proceed(account.remind):
            reason = f"oldest order {days} days past due (policy: {grace})"
            _move(moves, account, "remind", today=today, reason=reason)
        if can_proceed(account.soften):
            reason = f"oldest order {days} days past due (policy: soft at {policy.soft_after_days})"
            _move(moves, account, "soften", today=today, reason=reason)
        if can_proceed(account.settle):
            reason = "nothing past due any more; back to current"
            _move(moves, account, "settle", today=today, reason=reason)
            moves.settled.add(dealer_id)
        if account.stage != Stage.CURRENT and account.cycle_started_on is None and days > 0:
            # An account moved by hand before it had an episode date: start it now, so
            # that its letters go once.
            account.cycle_started_on = today
            moves.accounts[dealer_id] = account
        if dealer_id in moves.accounts:
            moves.cycles_as_loaded[dealer_id] = cycle_as_loaded
    return moves


def _move(
    moves: StageMoves, account: CollectionAccount, verb: str, *, today: dt.date, reason: str
) -> None:
    from_stage = account.stage
    getattr(account, verb)(on=today)
    moves.changes.append(
        StageChange.of_move(account, from_stage=from_stage, on=today, by=None, reason=reason)
    )
    previous = getattr(account, "_change_reason", "")
    account._change_reason = f"{previous}; {reason}" if previous else reason  # type: ignore[attr-defined]
    moves.accounts[account.dealer_id] = account
    moves.moved.add(account.dealer_id)


def propose_hard(
    accounts: Mapping[int, CollectionAccount],
    facts: Mapping[int, DealerFacts],
    *,
    broken_promises: Mapping[int, str],
    policy: CollectionPolicy,
) -> list[Proposal]:
    """Propose hard collection where the machine allows `harden` (a manager still
    decides) and there is a reason: `hard_proposal_days` past due, or enough broken
    promises in the window (`PromiseDecisions.hard_reasons`). Whether a pending request or
    a recent rejection holds a proposal back is `propose_escalations`' rule."""
    proposals = []
    for dealer_id, account in accounts.items():
        if not can_proceed(account.harden):
            continue
        reasons = []
        days = facts[dealer_id].overdue_days
        if days >= policy.hard_proposal_days:
            reasons.append(
                f"oldest order {days} days past due "
                f"(policy: hard proposed at {policy.hard_proposal_days})"
            )
        if dealer_id in broken_promises:
            reasons.append(broken_promises[dealer_id])
        if reasons:
            reason = "Proposed by the daily sweep: " + "; ".join(reasons) + "."
            proposals.append(Proposal(dealer_id=dealer_id, to_stage=Stage.HARD, reason=reason))
    return proposals

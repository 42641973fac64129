"""Pending escalation requests that no longer make sense: the state machine would refuse
the move today (the dealer paid, so nothing is past due; the account's stage moved on or
back; the account is already in the stage asked for). The sweep closes them, so that a
manager's queue holds only requests that can still be approved.

Whether a move is possible is the state machine's (`can_move`), asked with the facts the
batch loaded and the stage of after today's moves, exactly as approving the request
would ask it; the words are its refusal (`why_not`). Which stages have a pending request
is read with the accounts' lock (`pending_requests`), so that a batch without a request
to close costs no query more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from dunning.models import (
    ESCALATION_TRANSITIONS,
    CollectionAccount,
    Escalation,
    Stage,
    StageChange,
)
from dunning.services.stages import can_move, why_not
from dunning.sweep.steps.stages import StageMoves


def _pending_name(stage: str) -> str:
    return f"pending_{stage}"


def pending_requests() -> dict[str, Exists]:
    """Annotations for the query that locks the batch's accounts: for each stage that
    needs a manager's approval, whether the dealer has a pending request to move there
    (one probe each of the index behind "one pending request per dealer and stage")."""
    return {
        _pending_name(stage): Exists(
            Escalation.objects.filter(
                dealer_id=OuterRef("dealer_id"),
                to_stage=stage,
                status=Escalation.Status.PENDING,
            )
        )
        for stage in ESCALATION_TRANSITIONS
    }


def pending_stages(account: CollectionAccount) -> list[Stage]:
    """The stages the account has a pending request for, as `pending_requests` read
    them with its lock."""
    return [
        stage for stage in ESCALATION_TRANSITIONS if getattr(account, _pending_name(stage), False)
    ]


@dataclass(frozen=True)
class Closure:
    """Close the dealer's pending request to move to `to_stage`, saying why."""

    dealer_id: int
    to_stage: str
    note: str


@dataclass
class StaleEscalations:
    closures: list[Closure] = field(default_factory=list)


def close_stale_escalations(
    accounts: Mapping[int, CollectionAccount], moves: StageMoves, *, today: dt.date
) -> StaleEscalations:
    """The pending requests whose move the state machine refuses today, after today's
    moves (an account settled this morning can no longer be hardened, nor written off),
    each with a note for the manager saying why in words."""
    stale = StaleEscalations()
    last_move = {change.dealer_id: change for change in moves.changes}
    for dealer_id, account in accounts.items():
        for stage in pending_stages(account):
            verb = ESCALATION_TRANSITIONS[stage]
            if can_move(account, verb):
                continue
            note = _why_closed(account, stage, verb, last_move.get(dealer_id), today=today)
            stale.closures.append(Closure(dealer_id=dealer_id, to_stage=stage, note=note))
    return stale


def _why_closed(
    account: CollectionAccount,
    stage: Stage,
    verb: str,
    moved_today: StageChange | None,
    *,
    today: dt.date,
) -> str:
    """The decision note: the state machine's refusal, with today's move that caused it."""
    if account.stage == stage:
        why = f"the account is already in {stage.label.lower()}"
    else:
        why = why_not(account, verb)
    if moved_today is not None:
        change = moved_today
        why = (
            f"the account moved from {change.from_stage} to {change.to_stage} today "
            f"({change.reason}); {why}"
        )
    return (
        f"Closed by the daily sweep of {today:%Y-%m-%d}: the move to "
        f"{stage.label.lower()} is no longer possible: {why}."
    )


__all__ = [
    "Closure",
    "StaleEscalations",
    "close_stale_escalations",
    "pending_requests",
    "pending_stages",
]

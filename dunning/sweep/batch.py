"""The work of one batch of the sweep: lock the accounts, load the facts of all its
dealers in one query, run the deciding steps (`dunning.sweep.steps`) in the order below,
and save what they decided in bulk (`dunning.sweep.writer`). The number of queries
depends on what kinds of things happen, never on how many dealers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from simple_history.utils import get_history_manager_for_model

from dunning.figures import DealerFacts, facts_for
from dunning.models import CollectionAccount, CollectionPolicy
from dunning.sweep import steps
from dunning.sweep.writer import Decisions, write_decisions
from receivables.balances import refresh_stale
from receivables.models import ZERO, Dealer


@dataclass(frozen=True)
class BatchOutcome:
    dealers: int
    counts: Counter[str]
    interest_total: Decimal


def sweep_dealers(
    *, today: dt.date, policy: CollectionPolicy, first: int, last: int
) -> BatchOutcome:
    """Sweep the dealers with ids `first`..`last` for the business date `today`, inside
    the caller's transaction."""
    accounts, opened = open_and_lock_accounts(first=first, last=last)
    counts: Counter[str] = Counter()
    if opened:
        counts["accounts_opened"] = opened
    if not accounts:
        return BatchOutcome(dealers=0, counts=counts, interest_total=ZERO)
    # The kept figures of the batch's dealers that no longer hold today, first: the
    # morning's sweep brings them to the new day before anyone reads them.
    refresh_stale(Dealer.objects.filter(pk__gte=first, pk__lte=last))
    facts = load_facts(accounts, first=first, last=last, today=today, policy=policy)

    moves = steps.move_stages(accounts, facts, today=today, policy=policy)
    # After the moves: a pending request is closed when its move is no longer possible
    # for the stage of after them (as approving it would find).
    stale = steps.close_stale_escalations(accounts, moves, today=today)
    # After the moves: the open promises of an account settled today count as kept.
    promises = steps.check_promises(
        first=first, last=last, facts=facts, settled=moves.settled, today=today, policy=policy
    )
    # After the promise checks: enough broken promises are a reason to propose hard.
    proposals = steps.propose_hard(
        accounts, facts, broken_promises=promises.hard_reasons, policy=policy
    )
    # After the moves: letters and interest follow the stage and episode of after them.
    # Interest reads the letters of the episode as loaded, before today's are issued (a
    # final demand issued today has its deadline ahead).
    cycle_letters = steps.load_cycle_letters(accounts)
    letters = steps.issue_letters(accounts, facts, cycle_letters, today=today, policy=policy)
    interest = steps.post_interest(accounts, facts, cycle_letters, today=today, policy=policy)
    limitation = steps.warn_of_limitation(accounts, facts, today=today, policy=policy)

    decisions = Decisions(
        moves=moves,
        stale=stale,
        promises=promises,
        proposals=proposals,
        letters=letters,
        interest=interest,
        limitation=limitation,
    )
    counts.update(write_decisions(decisions, today=today))
    return BatchOutcome(dealers=len(accounts), counts=counts, interest_total=interest.total)


def open_and_lock_accounts(*, first: int, last: int) -> tuple[dict[int, CollectionAccount], int]:
    """Every dealer of the batch gets an account; all of them are locked, so that a
    collector's or manager's change waits for the batch (and then sees its result).
    The same query says which stages each has a pending escalation request for
    (`steps.pending_requests`). Returns the accounts by dealer id, and how many were
    opened now."""
    missing = list(
        Dealer.objects.filter(pk__range=(first, last), account__isnull=True)
        .order_by()
        .values_list("pk", flat=True)
    )
    if missing:
        CollectionAccount.objects.bulk_create(
            [CollectionAccount(dealer_id=dealer_id) for dealer_id in missing],
            ignore_conflicts=True,
        )
    locked = (
        CollectionAccount.objects.select_for_update()
        .filter(dealer_id__gte=first, dealer_id__lte=last)
        .annotate(**steps.pending_requests())
        .order_by("pk")
    )
    accounts = {account.dealer_id: account for account in locked}
    opened = [accounts[d] for d in missing if d in accounts]
    if opened:
        get_history_manager_for_model(CollectionAccount).bulk_history_create(
            opened, default_change_reason="account opened by the daily sweep"
        )
    return accounts, len(opened)


def load_facts(
    accounts: dict[int, CollectionAccount],
    *,
    first: int,
    last: int,
    today: dt.date,
    policy: CollectionPolicy,
) -> dict[int, DealerFacts]:
    """The facts of the batch's dealers in one query, also set on each account with the
    policy, for the state machine's conditions."""
    dealers = Dealer.objects.filter(pk__range=(first, last))
    facts = facts_for(dealers, today=today, policy=policy)
    for dealer_id, account in accounts.items():
        account.facts = facts[dealer_id]
        account.policy = policy
    return facts

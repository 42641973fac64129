"""Saving what the steps of a batch decided (`dunning.sweep.steps`), in bulk: the number
of queries depends on what kinds of things happen, never on how many dealers. Escalation
proposals go through `dunning.services.escalations.propose_escalations`, which owns the
rule that holds a proposal back and the text of the managers' alert; pending requests
the state machine no longer allows are closed here (`_close_escalations`)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from simple_history.utils import (
    bulk_create_with_history,
    bulk_update_with_history,
    get_history_manager_for_model,
)

from dunning.models import (
    Alert,
    CollectionAccount,
    Escalation,
    InterestCharge,
    Letter,
    Promise,
    StageChange,
    Task,
)
from dunning.services.alerts import mail_managers_after_commit
from dunning.services.escalations import Proposal, escalation_alert_key, propose_escalations
from dunning.services.letters import render_after_commit
from dunning.sweep.steps import (
    InterestDecisions,
    LetterDecisions,
    LimitationWarnings,
    PromiseDecisions,
    StageMoves,
    StaleEscalations,
)
from receivables.allocation import reallocate_dealers
from receivables.models import Order

CHANGE_REASON = "daily sweep"


@dataclass(frozen=True)
class Decisions:
    """Everything the steps of one batch decided."""

    moves: StageMoves
    stale: StaleEscalations
    promises: PromiseDecisions
    proposals: list[Proposal]
    letters: LetterDecisions
    interest: InterestDecisions
    limitation: LimitationWarnings


def write_decisions(decisions: Decisions, *, today: dt.date) -> Counter[str]:
    """Save the decisions of a batch, inside its transaction; returns the counts of what
    was written. The managers get one e-mail for the batch's new alerts, after commit."""
    counts: Counter[str] = Counter()
    moves, promises = decisions.moves, decisions.promises
    if promises.decided:
        bulk_update_with_history(
            promises.decided,
            Promise,
            ["status", "received_amount", "checked_on"],
            default_change_reason=CHANGE_REASON,
        )
        counts.update(f"promises_{promise.status}" for promise in promises.decided)
    if moves.accounts:
        _write_accounts(moves)
    if moves.changes:
        StageChange.objects.bulk_create(moves.changes)
        counts.update(f"moved_to_{change.to_stage}" for change in moves.changes)
    if decisions.stale.closures:
        # Before the proposals: a request closed today never stands in a new one's way
        # (`held_back_by` reads pending and rejected requests only).
        closed = _close_escalations(decisions.stale)
        if closed:
            counts["escalations_closed"] = closed
    new_alerts: list[Alert] = []
    if decisions.proposals:
        # After the accounts: the proposals' alerts name the stage of after today's moves.
        made = propose_escalations(decisions.proposals, today=today, mail_managers=False)
        counts.update("escalations_proposed" for _ in made.escalations)
        new_alerts += made.alerts
    if decisions.letters.letters:
        _in_dealers_languages(decisions.letters.letters)
        issued = bulk_create_with_history(
            decisions.letters.letters, Letter, default_change_reason="issued by the daily sweep"
        )
        counts.update(f"letters_{x.kind}_{x.level}" for x in decisions.letters.letters)
        render_after_commit(issued)
    if decisions.interest.charges:
        _write_interest(decisions.interest)
        counts.update("interest_charges" for _ in decisions.interest.charges)

    tasks = _not_yet_made(Task, promises.follow_ups + decisions.limitation.reviews)
    if tasks:
        bulk_create_with_history(tasks, Task, default_change_reason="made by the daily sweep")
        counts.update(f"tasks_{task.kind}" for task in tasks)
    limitation_alerts = _not_yet_made(Alert, decisions.limitation.alerts)
    if limitation_alerts:
        Alert.objects.bulk_create(limitation_alerts, ignore_conflicts=True)
    new_alerts = limitation_alerts + new_alerts
    if new_alerts:
        counts.update(f"alerts_{alert.kind}" for alert in new_alerts)
        _mail_managers_after_commit(new_alerts)
    return counts


def _write_accounts(moves: StageMoves) -> None:
    """The moved accounts, with one UPDATE per distinct new value: the few stages moved
    to today, and episode dates set to today or cleared. Django's `bulk_update` (a CASE
    per row and field) costs about a second of Python per 500 accounts on a busy day.
    The rows are locked by this transaction, and the history rows are written exactly
    as `bulk_update_with_history` writes them, with each account's reason."""
    accounts = list(moves.accounts.values())
    by_stage: dict[tuple[str, dt.date | None], list[int]] = defaultdict(list)
    by_cycle: dict[dt.date | None, list[int]] = defaultdict(list)
    for account in accounts:
        if account.dealer_id in moves.moved:
            by_stage[(account.stage, account.stage_since)].append(account.pk)
        if account.cycle_started_on != moves.cycles_as_loaded[account.dealer_id]:
            by_cycle[account.cycle_started_on].append(account.pk)
    for (stage, since), pks in by_stage.items():
        CollectionAccount.objects.filter(pk__in=pks).update(stage=stage, stage_since=since)
    for cycle, pks in by_cycle.items():
        CollectionAccount.objects.filter(pk__in=pks).update(cycle_started_on=cycle)
    get_history_manager_for_model(CollectionAccount).bulk_history_create(
        accounts, update=True, default_change_reason=CHANGE_REASON
    )


ESCALATION_CLOSED = "closed by the daily sweep"


def _close_escalations(stale: StaleEscalations) -> int:
    """Close the stale pending requests: status `closed`, nobody deciding, the note
    saying why, a history row "closed by the daily sweep", and their managers' alerts
    acknowledged (there is nothing left to decide). Returns how many were closed.

    A request a manager is deciding at this moment is locked by that decision, which
    locked it before the account: it is skipped (SKIP LOCKED), never waited for, so the
    batch, which holds the account, and the manager cannot deadlock. If it is still
    pending tomorrow, tomorrow's sweep closes it."""
    notes = {(c.dealer_id, c.to_stage): c.note for c in stale.closures}
    escalations = [
        escalation
        for escalation in Escalation.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(
            status=Escalation.Status.PENDING,
            dealer_id__in={dealer_id for dealer_id, _ in notes},
            to_stage__in={stage for _, stage in notes},
        )
        .order_by("pk")
        if (escalation.dealer_id, escalation.to_stage) in notes
    ]
    if not escalations:
        return 0
    closed_at = timezone.now()
    for escalation in escalations:
        escalation.status = Escalation.Status.CLOSED
        escalation.decided_by = None
        escalation.decided_at = closed_at
        escalation.decision_note = notes[(escalation.dealer_id, escalation.to_stage)]
    bulk_update_with_history(
        escalations,
        Escalation,
        ["status", "decided_by", "decided_at", "decision_note"],
        default_change_reason=ESCALATION_CLOSED,
    )
    Alert.objects.filter(
        source_key__in=[escalation_alert_key(escalation) for escalation in escalations],
        acknowledged_at__isnull=True,
    ).update(acknowledged_at=closed_at)
    return len(escalations)


def _write_interest(interest: InterestDecisions) -> None:
    orders = bulk_create_with_history(
        [order for order, _ in interest.charges],
        Order,
        default_change_reason="interest posted by the daily sweep",
    )
    charges = []
    for order, (_, charge) in zip(orders, interest.charges, strict=True):
        charge.order = order
        charges.append(charge)
    bulk_create_with_history(
        charges, InterestCharge, default_change_reason="interest posted by the daily sweep"
    )
    # Credit waiting on the dealer's account settles the new line at once.
    reallocate_dealers({order.dealer_id for order in orders})


def _not_yet_made(model: type[Task] | type[Alert], objs: Iterable[Any]) -> list[Any]:
    """The objects whose `source_key` is not in the table yet (one query)."""
    wanted = {obj.source_key: obj for obj in objs}
    if not wanted:
        return []
    existing = set(
        model.objects.filter(source_key__in=list(wanted)).values_list("source_key", flat=True)
    )
    return [obj for key, obj in wanted.items() if key not in existing]


def _mail_managers_after_commit(alerts: list[Alert]) -> None:
    """One e-mail per batch to the managers, sent once the batch is committed (a batch
    that rolls back alerts nobody)."""
    subject = f"[Receivables Desk] Daily sweep: {len(alerts)} new alert(s)"
    body = "\n\n".join(f"{alert.get_kind_display()}: {alert.message}" for alert in alerts)
    mail_managers_after_commit(subject, body)


def _in_dealers_languages(letters: list[Letter]) -> None:
    """Each letter is written in its dealer's language (`printing.letter_language`), said
    when it is issued, in one query for the batch."""
    from dunning.printing import letter_language
    from receivables.models import Dealer

    spoken = dict(
        Dealer.objects.filter(pk__in={letter.dealer_id for letter in letters}).values_list(
            "pk", "language"
        )
    )
    for letter in letters:
        letter.language = letter_language(spoken.get(letter.dealer_id, ""))

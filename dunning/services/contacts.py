"""The contact log, dealer events and follow-up tasks.

A contact is always recorded, even one that breaks the policy's caps or quiet hours:
nothing is lost, and the manager is told which rule it broke ("Firm, not abusive",
docs/PRACTICE.md §19).

A contact that cannot have happened is refused: one in the future, or dated before the
dealer's first order (there was no debt to talk about). An outcome "promise to pay"
names its promise: given, or the dealer's latest promise recorded on the contact's day;
without one it is refused (record the promise first).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from dunning.calendar import (
    CALL_COUNT_DAYS,
    CallPermission,
    call_permission,
    count_calls,
    dealer_zone,
)
from dunning.figures import DANGER_EVENTS, facts_for
from dunning.models import (
    ESCALATION_TRANSITIONS,
    Alert,
    CollectionAccount,
    CollectionPolicy,
    ContactLog,
    DealerEvent,
    Escalation,
    Excuse,
    Promise,
    Stage,
    Task,
)
from dunning.services.alerts import alert_managers
from dunning.services.common import check_choice, check_text, require, stamp
from dunning.services.errors import InvalidInput, TaskAlreadyDone
from dunning.services.escalations import Proposal, propose_escalations, why_held_back
from dunning.services.stages import can_move, ensure_account
from receivables.models import ZERO, Contact, Dealer, Order

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Calls and visits are what the caps and quiet hours limit: both reach the dealer in
# person, and a visit is the more intrusive of the two.
CALL_CHANNELS = [ContactLog.Channel.PHONE, ContactLog.Channel.VISIT]


def calls_up_to(dealer_ids: Iterable[int], *, at: dt.datetime) -> dict[int, list[dt.datetime]]:
    """The times of the calls and visits `count_calls` may need to count for the moment
    `at`: those of the `CALL_COUNT_DAYS` days up to it, by dealer, in one query."""
    calls: dict[int, list[dt.datetime]] = defaultdict(list)
    for dealer_id, when in ContactLog.objects.filter(
        dealer_id__in=list(dealer_ids),
        channel__in=CALL_CHANNELS,
        at__gte=at - dt.timedelta(days=CALL_COUNT_DAYS),
        at__lte=at,
    ).values_list("dealer_id", "at"):
        calls[dealer_id].append(when)
    return calls


def call_permission_for(
    dealer: Dealer,
    *,
    policy: CollectionPolicy,
    at: dt.datetime,
    calls: list[dt.datetime] | None = None,
) -> CallPermission:
    """May the dealer be called at `at`, by the caps and quiet hours of the policy, its
    calls and visits up to then (`calls`, as `calls_up_to` loads them for many dealers at
    once; read here when not given) counted on its own local day and ISO week."""
    if calls is None:
        calls = calls_up_to([dealer.pk], at=at)[dealer.pk]
    zone = dealer_zone(dealer.country, dealer.time_zone)
    counts = count_calls(calls, zone=zone, at=at)
    return call_permission(
        policy,
        country=dealer.country,
        zone=zone,
        now=at,
        calls_today=counts.today,
        calls_this_week=counts.this_week,
    )


def broken_contact_rule(dealer: Dealer, *, at: dt.datetime) -> str:
    """The policy rule a call or visit to the dealer at `at` breaks, or "": the calls and
    visits made before it by anyone count."""
    return call_permission_for(dealer, policy=CollectionPolicy.current(), at=at).rule


@transaction.atomic
def log_contact(
    *,
    dealer: Dealer,
    channel: str,
    at: dt.datetime,
    outcome: str,
    by: User | None,
    person: Contact | None = None,
    excuse: Excuse | None = None,
    note: str = "",
    promise: Promise | None = None,
    now: dt.datetime,
) -> ContactLog:
    """Record a contact made at `at`. A call or visit that breaks a rule of the policy
    is saved with `broken_rule` set, and the managers are alerted."""
    require(by, "dunning.add_contactlog")
    check_choice("channel", channel, ContactLog.Channel)
    check_choice("outcome", outcome, ContactLog.Outcome)
    if timezone.is_naive(at):
        raise InvalidInput("at", "Give the time with its time zone.")
    if at > now:
        raise InvalidInput("at", "A contact cannot be logged before it happens.")
    if person is not None and person.dealer_id != dealer.pk:
        raise InvalidInput("person", "This person is not one of the dealer's contacts.")
    if promise is not None and promise.dealer_id != dealer.pk:
        raise InvalidInput("promise", "This promise is another dealer's.")
    first_order_on = Order.objects.filter(dealer=dealer).aggregate(first=Min("ordered_on"))["first"]
    local_day = timezone.localdate(at)
    if first_order_on is not None and local_day < first_order_on:
        raise InvalidInput(
            "at",
            _(
                "This is before the dealer's first order (%(first)s): "
                "there was nothing to collect yet."
            )
            % {"first": f"{first_order_on:%Y-%m-%d}"},
        )
    if outcome == ContactLog.Outcome.PROMISE and promise is None:
        promise = Promise.objects.filter(dealer=dealer, made_on=local_day).order_by("-pk").first()
        if promise is None:
            raise InvalidInput(
                "outcome",
                _(
                    "A promise to pay needs its promise: record the date and the amount "
                    "under Promises first, then log the contact."
                ),
            )
    note = check_text("note", note, required=False)

    # Lock the dealer so that two collectors logging calls at once are counted in turn.
    Dealer.objects.select_for_update().filter(pk=dealer.pk).first()
    broken_rule = broken_contact_rule(dealer, at=at) if channel in CALL_CHANNELS else ""
    contact = ContactLog(
        dealer=dealer,
        person=person,
        channel=channel,
        at=at,
        outcome=outcome,
        excuse=excuse,
        note=note,
        promise=promise,
        logged_by=by,
        broken_rule=broken_rule,
    )
    stamp(contact, by=by, reason="Contact logged")
    contact.save()
    if broken_rule:
        local = at.astimezone(dealer_zone(dealer.country, dealer.time_zone))
        who = by.get_username() if by is not None else "The system"
        alert_managers(
            dealer,
            kind=Alert.Kind.CONTACT_RULE,
            message=(
                f"{who} logged a {contact.get_channel_display().lower()} contact with "
                f"{dealer.code} ({dealer.name}) at {local:%Y-%m-%d %H:%M %Z} dealer time, "
                f"which broke the rule: {broken_rule}."
            ),
            source_key=f"contact:{contact.pk}",
        )
    return contact


def _proposal_for_event(dealer: Dealer, kind: str, *, today: dt.date) -> tuple[str | None, str]:
    """The stage to propose for a danger sign, or None and why none."""
    facts = facts_for(Dealer.objects.filter(pk=dealer.pk), today=today)[dealer.pk]
    if facts.balance <= ZERO:
        return None, "nothing is open"
    ensure_account(dealer)
    # Locked, so that the stage asked about stays the stage the proposal is made from.
    account = CollectionAccount.objects.select_for_update().get(dealer=dealer)
    account.facts = facts
    target = Stage.HARD
    if kind in DANGER_EVENTS and account.stage == Stage.HARD:
        target = Stage.LITIGATION
    if not can_move(account, ESCALATION_TRANSITIONS[target]):
        return None, f"the account in {account.stage} cannot move to {target} now"
    return target, ""


def _propose_for_event(
    dealer: Dealer, target: str, reason: str, *, today: dt.date
) -> tuple[Escalation | None, str]:
    """The system's proposal for the event, under the system's rule: a pending request
    for the stage stands for this event too; a recent rejection holds it back."""
    made = propose_escalations([Proposal(dealer.pk, target, reason)], today=today)
    if made.escalations:
        return made.escalations[0], ""
    held = made.held_back[(dealer.pk, target)]
    if held.status == Escalation.Status.PENDING:
        return held, ""
    return None, why_held_back(held)


@transaction.atomic
def report_event(
    *,
    dealer: Dealer,
    kind: str,
    occurred_on: dt.date,
    note: str,
    by: User | None,
    today: dt.date,
) -> DealerEvent:
    """Record a danger sign ("Watch for danger signs", docs/PRACTICE.md §14), alert the
    managers at once and, when the dealer owes anything, propose escalation: to hard
    collection, or to litigation after a closure or bankruptcy when the account is
    already in hard.

    The proposal is the system's (like the sweep's), so any manager may decide it; an
    already pending one is reused, and none is made within the cooldown after a manager
    rejected one (`propose_escalations`). It is set on the event as
    `proposed_escalation`.
    """
    require(by, "dunning.add_dealerevent")
    check_choice("kind", kind, DealerEvent.Kind)
    if occurred_on > today:
        raise InvalidInput("occurred_on", "The event cannot be in the future.")
    note = check_text("note", note, required=False)
    event = DealerEvent(
        dealer=dealer, kind=kind, occurred_on=occurred_on, note=note, reported_by=by
    )
    stamp(event, by=by, reason="Dealer event reported")
    event.save()

    target, why_none = _proposal_for_event(dealer, kind, today=today)
    escalation: Escalation | None = None
    if target is not None:
        reason = f"{event.get_kind_display()} on {occurred_on:%Y-%m-%d}. {note}".strip()
        escalation, why_none = _propose_for_event(dealer, target, reason, today=today)
    event.proposed_escalation = escalation  # type: ignore[attr-defined]
    who = by.get_username() if by is not None else "The system"
    proposal = (
        f"Escalation to {escalation.to_stage} is proposed (request #{escalation.pk})."
        if escalation is not None
        else f"No escalation proposed: {why_none}."
    )
    alert_managers(
        dealer,
        kind=Alert.Kind.DEALER_EVENT,
        message=(
            f"{who} reported {event.get_kind_display().lower()} for {dealer.code} "
            f"({dealer.name}) on {occurred_on:%Y-%m-%d}. {note} {proposal}"
        ),
        source_key=f"event:{event.pk}",
    )
    return event


@transaction.atomic
def complete_task(*, task: Task, outcome: str, by: User | None, now: dt.datetime) -> Task:
    """Mark the follow-up done with what came of it. Done twice is a conflict."""
    require(by, "dunning.change_task")
    outcome = check_text("outcome", outcome)
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is not None:
        raise TaskAlreadyDone(f"This task was already done at {locked.done_at:%Y-%m-%d %H:%M}.")
    locked.done_at = now
    locked.outcome = outcome
    stamp(locked, by=by, reason="Task done")
    locked.save(update_fields=["done_at", "outcome"])
    task.done_at, task.outcome = locked.done_at, locked.outcome
    return locked


__all__ = [
    "broken_contact_rule",
    "call_permission_for",
    "calls_up_to",
    "complete_task",
    "log_contact",
    "report_event",
]

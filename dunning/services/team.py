"""What a collection manager changes for the whole team, in the application rather than
the Django admin: who works which dealers (`reassign_portfolio`), the collection policy
(`update_policy`) and the excuse library (`add_excuse`, `update_excuse`).

Each change is stamped with who made it and why in the changed rows' history, which the
team pages show. Credit-hold overrides are the account's, in `dunning.services.stages`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from dunning.models import CollectionPolicy, Excuse, Task
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import InvalidInput
from receivables.models import Dealer, DealerQuerySet
from receivables.services import REASSIGN_CHUNK, reassign_dealers

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REASON_MAX = 2000


# Reassigning dealers -------------------------------------------------------------------


@dataclass(frozen=True)
class Reassignment:
    """What a reassignment did: how many dealers moved, from whom (a name, "" for
    dealers that had no collector, and how many each), to whom, and how many open
    follow-up tasks went with them."""

    moved: int
    moved_from: list[tuple[str, int]]
    to: User | None
    tasks_moved: int


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


@transaction.atomic
def reassign_portfolio(
    *, dealers: DealerQuerySet, collector: User | None, by: User, reason: str
) -> Reassignment:
    """Give these dealers to `collector` (None: to nobody) through the ledger's
    `reassign_dealers`, and move the open follow-up tasks that were the former
    collector's on them to the new one: the work follows the dealer, or a task would
    stay with a collector who no longer sees its dealer. Tasks assigned to anybody else
    (a manager's review) stay where they are; open tasks with no assignee on a dealer
    that had no collector go to the new collector too.

    A constant number of queries per `REASSIGN_CHUNK` dealers and tasks. Which dealers
    `by` may see is the caller's check (`Dealer.objects.visible_to`).
    """
    # The ledger checks that `by` may change dealers; moving tasks is a manager's too.
    require(by, "dunning.change_task")
    target = collector.pk if collector is not None else None
    chosen = Dealer.objects.filter(pk__in=dealers.values("pk"))
    moving = chosen.exclude(collector=None) if target is None else chosen.exclude(collector=target)
    counts = (
        moving.values("collector__username", "collector__first_name", "collector__last_name")
        .annotate(n=Count("pk"))
        .order_by("collector__username")
    )
    moved_from = [
        (
            f"{row['collector__first_name'] or ''} {row['collector__last_name'] or ''}".strip()
            or (row["collector__username"] or ""),
            row["n"],
        )
        for row in counts
    ]
    # Read before the dealers move: whose tasks they are is the dealer's collector now.
    followers = list(
        Task.objects.filter(done_at__isnull=True, dealer__in=moving)
        .filter(
            Q(assignee_id=F("dealer__collector_id"))
            | Q(assignee__isnull=True, dealer__collector__isnull=True)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )

    moved = reassign_dealers(dealers=moving, collector=collector, by=by, reason=reason)

    now = timezone.now()
    task_reason = _("Dealer reassigned: %(reason)s") % {"reason": reason.strip()}
    tasks_moved = 0
    for start in range(0, len(followers), REASSIGN_CHUNK):
        # Only the tasks whose dealer did move (a dealer changed under the lock stays).
        locked = Task.objects.select_for_update(of=("self",)).filter(
            pk__in=followers[start : start + REASSIGN_CHUNK]
        )
        locked = (
            locked.filter(dealer__collector__isnull=True)
            if target is None
            else locked.filter(dealer__collector=target)
        )
        tasks = [task for task in locked.order_by("pk") if task.assignee_id != target]
        for task in tasks:
            task.assignee_id = target
        # One UPDATE and its history rows, as the ledger moves the dealers.
        Task.objects.filter(pk__in=[task.pk for task in tasks]).update(assignee_id=target)
        Task.history.bulk_history_create(  # type: ignore[attr-defined]
            tasks,
            update=True,
            default_user=by,
            default_change_reason=task_reason,
            default_date=now,
        )
        tasks_moved += len(tasks)
    return Reassignment(moved=moved, moved_from=moved_from, to=collector, tasks_moved=tasks_moved)


# The collection policy -----------------------------------------------------------------

# Every field a manager edits: all of the policy but its id.
POLICY_FIELDS: list[str] = [
    field.name
    for field in CollectionPolicy._meta.concrete_fields
    if not field.primary_key and field.editable
]

HUNDRED = Decimal(100)


class InvalidPolicy(InvalidInput):
    """The policy's new values break one or more of its rules, each by field. Nothing
    was written. An `InvalidInput` (naming the first field) for callers that show one
    error; `problems` has them all."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        first = next(iter(problems))
        super().__init__(first, problems[first])
        ValidationError.__init__(self, {field: [message] for field, message in problems.items()})
        self.problems = dict(problems)


def _later(
    problems: dict[str, str], policy: CollectionPolicy, earlier: str, later: str, message: str
) -> None:
    """`later` must be after `earlier` (days or times); the complaint goes on `later`."""
    if getattr(policy, later) <= getattr(policy, earlier) and later not in problems:
        problems[later] = message


def _time(value: dt.time) -> str:
    return f"{value:%H:%M}"


def policy_problems(policy: CollectionPolicy) -> dict[str, str]:
    """What is wrong with these values of the policy, by field ({} when nothing): the
    rules that tie one field to another (the order of the reminder levels, the risk
    classes and the hours of the day) and the bounds the model does not hold itself."""
    p = policy
    problems: dict[str, str] = {}
    _later(
        problems,
        p,
        "reminder_level1_days",
        "reminder_level2_days",
        _("The second reminder must come after the first one (%(days)s days past due).")
        % {"days": p.reminder_level1_days},
    )
    _later(
        problems,
        p,
        "reminder_level2_days",
        "final_demand_days",
        _("The final demand must come after the second reminder (%(days)s days past due).")
        % {"days": p.reminder_level2_days},
    )
    _later(
        problems,
        p,
        "soft_after_days",
        "hard_proposal_days",
        _("Hard collection is proposed after soft collection starts (%(days)s days past due).")
        % {"days": p.soft_after_days},
    )
    _later(
        problems,
        p,
        "quasi_bad_after_days",
        "bad_after_days",
        _("A debt turns bad after it turned quasi-bad (%(days)s days): use more days.")
        % {"days": p.quasi_bad_after_days},
    )
    _later(
        problems,
        p,
        "bad_after_days",
        "dead_after_days",
        _("A debt dies after it turned bad (%(days)s days): use more days.")
        % {"days": p.bad_after_days},
    )
    _later(
        problems,
        p,
        "quiet_until",
        "quiet_from",
        _("Calls must end after they may start (%(time)s): quiet from must be later.")
        % {"time": _time(p.quiet_until)},
    )
    _later(
        problems,
        p,
        "suggested_from",
        "suggested_to",
        _("The suggested window must end after it starts (%(time)s).")
        % {"time": _time(p.suggested_from)},
    )
    _later(
        problems,
        p,
        "lunch_from",
        "lunch_to",
        _("Lunch must end after it starts (%(time)s).") % {"time": _time(p.lunch_from)},
    )
    if "quiet_from" not in problems:
        if p.suggested_from < p.quiet_until and "suggested_from" not in problems:
            problems["suggested_from"] = _(
                "The suggested window starts before calls may start (%(time)s)."
            ) % {"time": _time(p.quiet_until)}
        if p.suggested_to > p.quiet_from and "suggested_to" not in problems:
            problems["suggested_to"] = _(
                "The suggested window ends after calls must stop (%(time)s)."
            ) % {"time": _time(p.quiet_from)}
    if p.calls_per_day > p.calls_per_week:
        problems["calls_per_week"] = _("At least as many calls a week as a day (%(calls)s).") % {
            "calls": p.calls_per_day
        }
    if not Decimal(0) <= p.interest_rate_percent <= HUNDRED:
        problems["interest_rate_percent"] = _("A yearly rate from 0 to 100 percent.")
    if p.broken_promises_for_hard < 1:
        problems["broken_promises_for_hard"] = _("At least one broken promise.")
    if p.limitation_years < 1:
        problems["limitation_years"] = _("At least one year.")
    elif p.limitation_warning_days >= p.limitation_years * 365:
        problems["limitation_warning_days"] = _(
            "The warning must come before the limitation period ends (%(years)s years)."
        ) % {"years": p.limitation_years}
    return problems


@transaction.atomic
def update_policy(*, changes: Mapping[str, Any], by: User, reason: str) -> list[str]:
    """Change fields of the collection policy, all or none, and record who and why in
    its history. Returns the names of the fields that changed, in the policy's order
    ([] when none did: then nothing is written, no history row either).

    Raises `InvalidPolicy` with every problem by field: a value out of the model's
    bounds (a percent from 0 to 100), or a rule between fields (`policy_problems`).
    """
    require(by, "dunning.change_collectionpolicy")
    unknown = [name for name in changes if name not in POLICY_FIELDS]
    if unknown:
        raise InvalidInput(unknown[0], _("The collection policy has no such field."))
    reason = check_text("reason", reason, max_length=REASON_MAX)
    CollectionPolicy.current()  # made with the defaults on first use
    policy = CollectionPolicy.objects.select_for_update().get(pk=1)
    before = {name: getattr(policy, name) for name in POLICY_FIELDS}
    for name, value in changes.items():
        setattr(policy, name, value)
    problems: dict[str, str] = {}
    try:
        policy.full_clean()
    except ValidationError as error:
        problems.update({field: messages[0] for field, messages in error.message_dict.items()})
    if not problems:
        problems = policy_problems(policy)
    if problems:
        raise InvalidPolicy(problems)
    changed = [name for name in POLICY_FIELDS if getattr(policy, name) != before[name]]
    if not changed:
        return []
    stamp(policy, by=by, reason=reason)
    policy.save()
    return changed


# The excuse library --------------------------------------------------------------------

EXCUSE_FIELDS = ["text", "counter_script", "ask", "position", "active"]
TEXT_MAX = 200  # Excuse.text's length
SCRIPT_MAX = 4000
POSITION_MAX = 10_000


def _checked_excuse(values: Mapping[str, Any], *, excuse_id: int | None) -> dict[str, Any]:
    """The excuse's values as stored, or `InvalidInput` for the first field wrong."""
    unknown = [name for name in values if name not in EXCUSE_FIELDS]
    if unknown:
        raise InvalidInput(unknown[0], _("An excuse has no such field."))
    checked = dict(values)
    if "text" in values:
        text = check_text("text", values["text"], max_length=TEXT_MAX)
        taken = Excuse.objects.filter(text__iexact=text)
        if excuse_id is not None:
            taken = taken.exclude(pk=excuse_id)
        if taken.exists():
            raise InvalidInput("text", _("The library already has this excuse."))
        checked["text"] = text
    for name in ("counter_script", "ask"):
        if name in values:
            checked[name] = check_text(name, values[name], max_length=SCRIPT_MAX)
    if "position" in values:
        position = values["position"]
        if (
            isinstance(position, bool)
            or not isinstance(position, int)
            or not 0 <= position <= POSITION_MAX
        ):
            raise InvalidInput(
                "position", _("A whole number from 0 to %(max)s.") % {"max": POSITION_MAX}
            )
    if "active" in values and not isinstance(values["active"], bool):
        raise InvalidInput("active", _("Active or not."))
    return checked


@transaction.atomic
def add_excuse(
    *, text: str, counter_script: str, ask: str, position: int, by: User, reason: str = ""
) -> Excuse:
    """A new excuse in the library, active: collectors pick it in the contact form."""
    require(by, "dunning.add_excuse")
    values = _checked_excuse(
        {"text": text, "counter_script": counter_script, "ask": ask, "position": position},
        excuse_id=None,
    )
    reason = check_text("reason", reason, required=False, max_length=REASON_MAX)
    excuse = Excuse(**values, active=True)
    stamp(excuse, by=by, reason=reason or _("Excuse added to the library"))
    excuse.save()
    return excuse


@transaction.atomic
def update_excuse(
    *, excuse_id: int, changes: Mapping[str, Any], by: User, reason: str
) -> tuple[Excuse, list[str]]:
    """Change an excuse (its words, its place in the list, whether collectors are
    offered it), recording who and why. Returns the excuse and the fields that changed
    ([] when none did: nothing written). There is no deleting: contact logs name the
    excuses they heard, so an excuse nobody should pick any more is made inactive."""
    require(by, "dunning.change_excuse")
    reason = check_text("reason", reason, max_length=REASON_MAX)
    values = _checked_excuse(changes, excuse_id=excuse_id)
    excuse = Excuse.objects.select_for_update().get(pk=excuse_id)
    changed = [
        name for name in EXCUSE_FIELDS if name in values and getattr(excuse, name) != values[name]
    ]
    if not changed:
        return excuse, []
    for name in changed:
        setattr(excuse, name, values[name])
    stamp(excuse, by=by, reason=reason)
    excuse.save(update_fields=changed)
    return excuse, changed


__all__ = [
    "EXCUSE_FIELDS",
    "POLICY_FIELDS",
    "InvalidPolicy",
    "Reassignment",
    "add_excuse",
    "policy_problems",
    "reassign_portfolio",
    "update_excuse",
    "update_policy",
]

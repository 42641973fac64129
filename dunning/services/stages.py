"""The account's stage: moving it through the state machine, and the two things a
manager sets on the account besides (the assessment and a credit-hold override, which a
manager may also end early)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Substr, Trim
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from dunning.figures import DealerFacts, facts_for
from dunning.models import (
    CollectionAccount,
    CollectionPolicy,
    Escalation,
    Stage,
    StageChange,
    refusal_of,
)
from dunning.services.common import check_choice, check_text, require, stamp
from dunning.services.errors import (
    InvalidInput,
    PermissionDenied,
    StageConflict,
    TransitionNotAllowed,
    WorkflowConflict,
)
from receivables.models import Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def ensure_account(dealer: Dealer) -> CollectionAccount:
    """The dealer's collection account, created in `current` on first use."""
    account, _ = CollectionAccount.objects.get_or_create(dealer=dealer)
    return account


def load_facts(account: CollectionAccount, *, on: dt.date) -> DealerFacts:
    """Set the facts the transition conditions read (one query) and return them."""
    dealers = Dealer.objects.filter(pk=account.dealer_id)
    account.facts = facts_for(dealers, today=on)[account.dealer_id]
    return account.facts


def _transition_method(account: CollectionAccount, verb: str) -> Any:
    method = getattr(account, verb, None)
    if method is None or not hasattr(method, "_django_fsm"):
        raise ValueError(f"'{verb}' is not a transition of the collection account.")
    return method


def why_not(account: CollectionAccount, verb: str) -> str:
    """In words, why the transition `verb` cannot run now ("" when it can)."""
    method = _transition_method(account, verb)
    meta = method._django_fsm
    stage = account.stage
    if not meta.has_transition(stage):
        targets = {t.target for t in meta.transitions.values()}
        target = targets.pop() if len(targets) == 1 else verb
        return f"an account in {stage} cannot move to {target}"
    unmet = [c for c in meta.get_transition(stage).conditions if not c(account)]
    return "; ".join(refusal_of(c, account) for c in unmet)


def can_move(account: CollectionAccount, verb: str) -> bool:
    """Whether the transition may run, by source stage and conditions (facts must be set)."""
    return can_proceed(_transition_method(account, verb))


@transaction.atomic
def move_stage(
    account: CollectionAccount,
    verb: str,
    *,
    on: dt.date,
    by: User | None = None,
    reason: str,
    escalation: Escalation | None = None,
    facts: DealerFacts | None = None,
) -> StageChange:
    """Run the transition `verb` on the account and record who, when, from, to and why.

    `by=None` is the daily sweep. `facts` may be passed by a caller that loaded them in
    bulk for the same day; otherwise they are read here. Raises `TransitionNotAllowed`
    when the stage or the conditions forbid the move, `PermissionDenied` when `by` lacks
    the transition's permission, and `StageConflict` when the stage changed in the
    database since `account` was read.
    """
    method = _transition_method(account, verb)
    reason = check_text("reason", reason)
    if facts is not None:
        account.facts = facts
    else:
        load_facts(account, on=on)
    from_stage = account.stage
    if not can_proceed(method):
        raise TransitionNotAllowed(
            f"Cannot {verb}: {why_not(account, verb)}.", object=account, method=method
        )
    if by is not None and not has_transition_perm(method, by):
        raise PermissionDenied(f"Your role may not {verb} an account.")
    method(on=on)
    stamp(account, by=by, reason=reason)
    try:
        account.save()
    except ConcurrentTransition as exc:
        raise StageConflict(
            f"The account of {account.dealer_id} changed stage while this move was made; "
            "reload and try again."
        ) from exc
    change = StageChange.of_move(
        account, from_stage=from_stage, on=on, by=by, reason=reason, escalation=escalation
    )
    change.save()
    if from_stage == Stage.AGENCY and account.stage != Stage.AGENCY:
        end_placement(account.dealer_id, by=by, reason=reason)
    return change


def end_placement(dealer_id: int, *, by: User | None, reason: str) -> None:
    """Clear the dealer's agency when its account leaves the `agency` stage.

    A dealer is placed with an agency exactly while its account is in `agency`: the
    placement is what lets the agency's users see the dealer, so an account written off
    or taken to court must drop out of the agency's sight in the same transaction as the
    move (`approve_escalation` sets the placement on the way in). The dealer's history
    says who ended the placement and why."""
    dealer = Dealer.objects.select_for_update().filter(pk=dealer_id).first()
    if dealer is None or dealer.agency_id is None:
        return
    dealer.agency = None
    stamp(dealer, by=by, reason=f"Placement with the agency ended: {reason}")
    dealer.save(update_fields=["agency", "updated_at"])


def _locked_account(dealer: Dealer) -> CollectionAccount:
    ensure_account(dealer)
    return CollectionAccount.objects.select_for_update().get(dealer=dealer)


@transaction.atomic
def set_assessment(
    *, dealer: Dealer, default_cause: str, disposition: str, by: User
) -> CollectionAccount:
    """Record why the dealer is not paying and whether they are able and willing
    ("Know why they are not paying", docs/PRACTICE.md §5); "" for either means not assessed."""
    require(by, "dunning.change_collectionaccount")
    check_choice("default_cause", default_cause, CollectionAccount.Cause)
    check_choice("disposition", disposition, CollectionAccount.Disposition)
    account = _locked_account(dealer)
    account.default_cause = default_cause
    account.disposition = disposition
    stamp(account, by=by, reason="Assessment recorded")
    account.save(update_fields=["default_cause", "disposition"])
    return account


@transaction.atomic
def override_credit_hold(
    *, dealer: Dealer, until: dt.date, reason: str, by: User, today: dt.date
) -> CollectionAccount:
    """A manager lets the dealer buy on credit despite a hold, until a date (line 12),
    at most the policy's `credit_override_max_days` ahead: an override is a bridge over
    a known gap (harvest money due), not a way out of the hold; a longer one is a new
    decision, taken again when it ends."""
    if not by.has_perm("dunning.override_credit_hold"):
        raise PermissionDenied("Only a collection manager may override a credit hold.")
    if until < today:
        raise InvalidInput("until", "The override must last until today or later.")
    longest = CollectionPolicy.current().credit_override_max_days
    last_day = today + dt.timedelta(days=longest)
    if until > last_day:
        raise InvalidInput(
            "until",
            _(
                "An override lasts at most %(days)s days (the collection policy): "
                "until %(last_day)s at the latest."
            )
            % {"days": longest, "last_day": f"{last_day:%Y-%m-%d}"},
        )
    reason = check_text("reason", reason)
    account = _locked_account(dealer)
    account.credit_hold_override_until = until
    account.credit_hold_override_by = by
    account.credit_hold_override_reason = reason
    stamp(account, by=by, reason=f"Credit hold overridden until {until:%Y-%m-%d}: {reason}")
    account.save(
        update_fields=[
            "credit_hold_override_until",
            "credit_hold_override_by",
            "credit_hold_override_reason",
        ]
    )
    return account


# The start of the history reason of an override ended early: `with_early_end` finds the
# ending by it. Data, not a sentence for the page, so never translated.
OVERRIDE_ENDED = "Credit hold override ended early"


@transaction.atomic
def end_credit_override(
    *, dealer: Dealer, by: User, today: dt.date, reason: str
) -> CollectionAccount:
    """A manager ends an override before its date: the hold applies again from today.

    The override's last day becomes yesterday rather than being cleared: the account
    keeps who granted it and why (the recently ended overrides list them, and
    `credit_hold_overridden(today)` is false at once), and the history record of this
    change says who ended it, when and why (`OVERRIDE_ENDED`, read by `with_early_end`).
    Raises `WorkflowConflict` when there is no override running today (it ran out, or
    somebody ended it first).
    """
    if not by.has_perm("dunning.override_credit_hold"):
        raise PermissionDenied(_("Only a collection manager may end a credit hold override."))
    reason = check_text("reason", reason, max_length=2000)
    account = CollectionAccount.objects.select_for_update().filter(dealer=dealer).first()
    if account is None or not account.credit_hold_overridden(today):
        raise WorkflowConflict(
            _("The credit hold of %(code)s is not overridden today: there is nothing to end.")
            % {"code": dealer.code}
        )
    account.credit_hold_override_until = today - dt.timedelta(days=1)
    stamp(account, by=by, reason=f"{OVERRIDE_ENDED}: {reason}")
    account.save(update_fields=["credit_hold_override_until"])
    return account


def with_early_end(accounts: QuerySet[CollectionAccount]) -> QuerySet[CollectionAccount]:
    """Annotate, for overrides ended early (`end_credit_override`), who ended it
    (`ended_by`, the user's full name, else the username), when (`ended_at`) and why
    (`ended_reason`, the reason given, without `OVERRIDE_ENDED`); None for an override
    that ran to its date. One query for any number of accounts: the ending is the
    history record that set the account's present last day with that reason."""
    endings = CollectionAccount.history.filter(
        id=OuterRef("pk"),
        credit_hold_override_until=OuterRef("credit_hold_override_until"),
        history_change_reason__startswith=OVERRIDE_ENDED,
    ).order_by("-history_date", "-history_id")
    return accounts.annotate(
        ended_by=Subquery(
            endings.annotate(
                name=Coalesce(
                    NullIf(
                        Trim(
                            Concat(
                                "history_user__first_name",
                                Value(" "),
                                "history_user__last_name",
                            )
                        ),
                        Value(""),
                    ),
                    "history_user__username",
                )
            ).values("name")[:1]
        ),
        ended_at=Subquery(endings.values("history_date")[:1]),
        ended_reason=Subquery(
            endings.annotate(
                given=Substr("history_change_reason", len(OVERRIDE_ENDED) + len(": ") + 1)
            ).values("given")[:1]
        ),
    )


__all__ = [
    "OVERRIDE_ENDED",
    "can_move",
    "end_credit_override",
    "end_placement",
    "ensure_account",
    "load_facts",
    "move_stage",
    "override_credit_hold",
    "set_assessment",
    "why_not",
    "with_early_end",
]

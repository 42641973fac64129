"""The collection stages and the state machine that moves a dealer's account through them
(soft first, hard only with a manager's approval, then litigation or an agency, then
write-off).

This module is the one home of stage rules: which stage may follow which, under what
condition, and what each stage means for letters, interest, credit and the limitation
watch. Conditions are named methods of the account, each with the refusal a person
reads beside it (`refusal`); the services and the daily sweep ask the transitions
(`can_proceed`) instead of deciding again. Transition bodies change the instance only;
the callers save it, record the `StageChange` and send whatever goes outside after
commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from dunning.models.policy import CollectionPolicy
from receivables.models import Dealer

MANAGER_PERMISSION = "dunning.decide_escalation"


def _(message: str) -> str:
    """`gettext_lazy`, typed as the str a label becomes when it is shown: the labels below
    are translated in the reader's language where they are shown, and code that reads
    `Stage.X.label` keeps treating it as text."""
    return cast(str, gettext_lazy(message))


class Stage(models.TextChoices):
    CURRENT = "current", _("Current")
    REMINDER = "reminder", _("Reminder")
    SOFT = "soft", _("Soft collection")
    HARD = "hard", _("Hard collection")
    LITIGATION = "litigation", _("Litigation")
    AGENCY = "agency", _("Placed with agency")
    WRITTEN_OFF = "written_off", _("Written off")


# Stages a manager must approve (through an Escalation) before the account enters them.
ESCALATED_STAGES = [Stage.HARD, Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF]
# In these stages new orders are cash only (no new business before payment).
CREDIT_HOLD_STAGES = [Stage.HARD, Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF]
# Stages in which the daily sweep writes reminders and the final demand; in litigation
# and with an agency, lawyers and the agency write.
LETTER_STAGES = [Stage.REMINDER, Stage.SOFT, Stage.HARD]
# Stages in which the collectors no longer call: lawyers or an agency speak to the dealer,
# or the debt is written off. The worklist does not offer them for calls (they have their
# own list) and the daily sweep makes them no call tasks.
NOT_CALLED_STAGES = [Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF]
# Stages without a limitation warning: the claim is in court, or written off.
NO_LIMITATION_WATCH = [Stage.LITIGATION, Stage.WRITTEN_OFF]


class RiskClass(models.TextChoices):
    UNCOLLECTED = "uncollected", _("Uncollected (nothing past due)")
    IN_COLLECTION = "in_collection", _("In collection")
    QUASI_BAD = "quasi_bad", _("Quasi-bad")
    BAD = "bad", _("Bad")
    DEAD = "dead", _("Dead")


Refusal = str | Callable[[Any], str]


def refusal(message: Refusal) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Attach to a transition condition what a person is told when it does not hold
    (a text, or a function of the account for one that names policy figures)."""

    def attach(condition: Callable[..., bool]) -> Callable[..., bool]:
        condition.refusal = message  # type: ignore[attr-defined]
        return condition

    return attach


def refusal_of(condition: Callable[..., bool], account: Any) -> str:
    message = getattr(condition, "refusal", condition.__name__.replace("_", " "))
    return message(account) if callable(message) else message


class CollectionAccount(ConcurrentTransitionMixin, models.Model):
    """A dealer's standing in collection: its stage and what the team knows of it."""

    class Cause(models.TextChoices):
        UNKNOWN = "", _("Not assessed")
        NEGLIGENCE = "negligence", _("Negligence")
        DISPUTE = "dispute", _("Dispute about the product")
        TIGHT_FUNDS = "tight_funds", _("Tight funds")
        INTENTIONAL = "intentional", _("Intentional")

    class Disposition(models.TextChoices):
        UNKNOWN = "", _("Not assessed")
        ABLE_WILLING = "able_willing", _("Able and willing")
        ABLE_UNWILLING = "able_unwilling", _("Able but unwilling")
        WILLING_UNABLE = "willing_unable", _("Willing but unable")
        UNABLE_UNWILLING = "unable_unwilling", _("Neither able nor willing")

    dealer = models.OneToOneField(Dealer, on_delete=models.CASCADE, related_name="account")
    stage = FSMField(default=Stage.CURRENT, choices=Stage.choices, protected=True, db_index=True)
    stage_since = models.DateField(null=True, blank=True)
    cycle_started_on = models.DateField(
        null=True, blank=True, help_text="When the current overdue episode began"
    )
    default_cause = models.CharField(max_length=20, choices=Cause.choices, blank=True)
    disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    credit_hold_override_until = models.DateField(null=True, blank=True)
    credit_hold_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credit_hold_override_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    # Facts for the transition conditions, set by the caller from one SQL query
    # (`dunning.figures.DealerFacts`); the conditions never query the database themselves.
    facts: Any = None
    # The policy the conditions apply. A caller deciding for many accounts (the daily
    # sweep) sets it once; left empty, a condition reads `CollectionPolicy.current()`.
    policy: CollectionPolicy | None = None

    class Meta:
        permissions = [
            ("decide_escalation", "Can approve or reject escalations"),
            ("override_credit_hold", "Can override a credit hold"),
        ]

    def __str__(self) -> str:
        return f"{self.dealer_id}: {self.stage}"

    # Facts and policy the conditions read ------------------------------------------------

    @property
    def overdue_days(self) -> int:
        """Days past due of the oldest overdue order, from the facts set by the caller."""
        if self.facts is None:
            raise RuntimeError("Set account.facts before asking for a transition.")
        return int(self.facts.overdue_days)

    def current_policy(self) -> CollectionPolicy:
        if self.policy is None:
            self.policy = CollectionPolicy.current()
        return self.policy

    # Conditions, each with its refusal ---------------------------------------------------

    @refusal("nothing is past due")
    def is_past_due(self) -> bool:
        return self.overdue_days > 0

    @refusal(
        lambda account: (
            f"nothing is past due beyond the {account.current_policy().grace_days} days' grace"
        )
    )
    def is_past_grace(self) -> bool:
        return self.overdue_days > self.current_policy().grace_days

    @refusal(
        lambda account: (
            "the oldest overdue order is not yet "
            f"{account.current_policy().soft_after_days} days past due"
        )
    )
    def is_due_for_soft(self) -> bool:
        return self.overdue_days >= self.current_policy().soft_after_days

    @refusal("something is still past due")
    def has_nothing_overdue(self) -> bool:
        return self.overdue_days <= 0

    # What each stage means besides its moves ---------------------------------------------

    @property
    def gets_letters(self) -> bool:
        """Whether the daily sweep writes this account's reminders and final demand."""
        return self.stage in LETTER_STAGES

    @property
    def accrues_interest(self) -> bool:
        """Whether interest runs after a final demand's deadline: while the claim is
        pursued, not once it is settled or written off."""
        return self.stage not in (Stage.CURRENT, Stage.WRITTEN_OFF)

    @property
    def watches_limitation(self) -> bool:
        return self.stage not in NO_LIMITATION_WATCH

    def credit_hold_overridden(self, on: dt.date) -> bool:
        """Whether a manager's override lifts a credit hold on `on`."""
        return self.credit_hold_override_until is not None and self.credit_hold_override_until >= on

    # Automatic moves made by the daily sweep ---------------------------------------------

    @transition(
        field=stage, source=Stage.CURRENT, target=Stage.REMINDER, conditions=[is_past_grace]
    )
    def remind(self, *, on: dt.date) -> None:
        self.stage_since = on
        self.cycle_started_on = on

    @transition(field=stage, source=Stage.REMINDER, target=Stage.SOFT, conditions=[is_due_for_soft])
    def soften(self, *, on: dt.date) -> None:
        self.stage_since = on

    # Agency placements and write-offs are closed by people, not by the sweep.
    @transition(
        field=stage,
        source=[Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION],
        target=Stage.CURRENT,
        conditions=[has_nothing_overdue],
    )
    def settle(self, *, on: dt.date) -> None:
        self.stage_since = on
        self.cycle_started_on = None

    # Moves a manager approves through an Escalation ---------------------------------------

    @transition(
        field=stage,
        source=[Stage.REMINDER, Stage.SOFT],
        target=Stage.HARD,
        conditions=[is_past_due],
        permission=MANAGER_PERMISSION,
    )
    def harden(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.SOFT, Stage.HARD, Stage.AGENCY],
        target=Stage.LITIGATION,
        conditions=[is_past_due],
        permission=MANAGER_PERMISSION,
    )
    def litigate(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.SOFT, Stage.HARD, Stage.LITIGATION],
        target=Stage.AGENCY,
        conditions=[is_past_due],
        permission=MANAGER_PERMISSION,
    )
    def place_with_agency(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION, Stage.AGENCY],
        target=Stage.WRITTEN_OFF,
        permission=MANAGER_PERMISSION,
    )
    def write_off(self, *, on: dt.date) -> None:
        self.stage_since = on


# The transition that enters each escalated stage.
ESCALATION_TRANSITIONS = {
    Stage.HARD: "harden",
    Stage.LITIGATION: "litigate",
    Stage.AGENCY: "place_with_agency",
    Stage.WRITTEN_OFF: "write_off",
}


class StageChange(models.Model):
    """One line of the account's stage history: who, when, from, to and why."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=20, choices=Stage.choices)
    to_stage = models.CharField(max_length=20, choices=Stage.choices)
    on = models.DateField(help_text="Business date")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty when the daily sweep made the move",
    )
    reason = models.TextField()
    escalation = models.ForeignKey(
        "Escalation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dealer", "-at"])]

    def __str__(self) -> str:
        return f"{self.dealer_id}: {self.from_stage} -> {self.to_stage}"

    @classmethod
    def of_move(
        cls,
        account: CollectionAccount,
        *,
        from_stage: str,
        on: dt.date,
        by: Any,
        reason: str,
        escalation: Any = None,
    ) -> StageChange:
        """The (unsaved) record of a move just made on `account` from `from_stage`;
        `by=None` is the daily sweep."""
        return cls(
            dealer_id=account.dealer_id,
            from_stage=from_stage,
            to_stage=account.stage,
            on=on,
            by=by,
            reason=reason,
            escalation=escalation,
        )

"""The collection workflow: each dealer's account moves through the collection stages
(DOMAIN.md line 7) by the transitions below; promises, contacts, escalations, letters,
follow-up tasks and alerts hang off the dealer.

Stage changes happen only through the transitions of `CollectionAccount`. Their bodies
change the instance only; the services save, record the `StageChange` and send whatever
goes outside after commit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from receivables.models import ZERO, Dealer, Order

MANAGER_PERMISSION = "dunning.decide_escalation"


class Stage(models.TextChoices):
    CURRENT = "current", "Current"
    REMINDER = "reminder", "Reminder"
    SOFT = "soft", "Soft collection"
    HARD = "hard", "Hard collection"
    LITIGATION = "litigation", "Litigation"
    AGENCY = "agency", "Placed with agency"
    WRITTEN_OFF = "written_off", "Written off"


# Stages a manager must approve (through an Escalation) before the account enters them.
ESCALATED_STAGES = [Stage.HARD, Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF]
# In these stages new orders are cash only (DOMAIN.md line 12).
CREDIT_HOLD_STAGES = [Stage.HARD, Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF]


class RiskClass(models.TextChoices):
    UNCOLLECTED = "uncollected", "Uncollected (nothing past due)"
    IN_COLLECTION = "in_collection", "In collection"
    QUASI_BAD = "quasi_bad", "Quasi-bad"
    BAD = "bad", "Bad"
    DEAD = "dead", "Dead"


class CollectionPolicy(models.Model):
    """The rules of collection, as data managers edit in the admin (versioned).

    There is one policy, row 1; `CollectionPolicy.current()` returns it, created with
    the defaults of the collection practice on first use.
    """

    grace_days = models.PositiveIntegerField(default=0)
    reminder_level1_days = models.PositiveIntegerField(default=7)
    reminder_level2_days = models.PositiveIntegerField(default=21)
    final_demand_days = models.PositiveIntegerField(
        default=45, help_text="Final demand with the written interest notice"
    )
    notice_deadline_days = models.PositiveIntegerField(
        default=14, help_text="Days the interest notice gives before interest runs"
    )
    soft_after_days = models.PositiveIntegerField(default=30)
    hard_proposal_days = models.PositiveIntegerField(default=60)
    broken_promises_for_hard = models.PositiveIntegerField(default=2)
    broken_promise_window_days = models.PositiveIntegerField(default=90)
    interest_rate_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("12.00"), help_text="Per year"
    )
    interest_posting_days = models.PositiveIntegerField(
        default=30, help_text="Interest is posted as a ledger line at most this often"
    )
    limitation_years = models.PositiveIntegerField(default=3)
    limitation_warning_days = models.PositiveIntegerField(default=90)
    calls_per_day = models.PositiveIntegerField(default=1)
    calls_per_week = models.PositiveIntegerField(default=3)
    quiet_until = models.TimeField(default=dt.time(8, 0), help_text="No calls before")
    quiet_from = models.TimeField(default=dt.time(20, 0), help_text="No calls from")
    no_calls_on_sundays = models.BooleanField(default=True)
    no_calls_on_holidays = models.BooleanField(default=True)
    suggested_from = models.TimeField(default=dt.time(15, 0))
    suggested_to = models.TimeField(default=dt.time(17, 0))
    lunch_from = models.TimeField(default=dt.time(11, 45), help_text="Never suggest from")
    lunch_to = models.TimeField(default=dt.time(14, 0), help_text="Never suggest until")
    # Risk classes by age of the oldest overdue order (DOMAIN.md line 4).
    quasi_bad_after_days = models.PositiveIntegerField(default=90)
    bad_after_days = models.PositiveIntegerField(default=365)
    dead_after_days = models.PositiveIntegerField(default=730)

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "collection policy"

    def __str__(self) -> str:
        return "Collection policy"

    @classmethod
    def current(cls) -> CollectionPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


def _has_nothing_overdue(account: Any) -> bool:
    return account.facts_overdue_days() <= 0


def _is_past_due(account: Any) -> bool:
    return account.facts_overdue_days() > 0


def _is_due_for_soft(account: Any) -> bool:
    policy = account.policy or CollectionPolicy.current()
    return account.facts_overdue_days() >= policy.soft_after_days


class CollectionAccount(ConcurrentTransitionMixin, models.Model):
    """A dealer's standing in collection: its stage and what the team knows of it."""

    class Cause(models.TextChoices):
        UNKNOWN = "", "Not assessed"
        NEGLIGENCE = "negligence", "Negligence"
        DISPUTE = "dispute", "Dispute about the product"
        TIGHT_FUNDS = "tight_funds", "Tight funds"
        INTENTIONAL = "intentional", "Intentional"

    class Disposition(models.TextChoices):
        UNKNOWN = "", "Not assessed"
        ABLE_WILLING = "able_willing", "Able and willing"
        ABLE_UNWILLING = "able_unwilling", "Able but unwilling"
        WILLING_UNABLE = "willing_unable", "Willing but unable"
        UNABLE_UNWILLING = "unable_unwilling", "Neither able nor willing"

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
    # (`DealerFacts`); the conditions never query the database themselves.
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

    def facts_overdue_days(self) -> int:
        if self.facts is None:
            raise RuntimeError("Set account.facts before asking for a transition.")
        return int(self.facts.overdue_days)

    # Automatic moves made by the sweep.
    @transition(field=stage, source=Stage.CURRENT, target=Stage.REMINDER, conditions=[_is_past_due])
    def remind(self, *, on: dt.date) -> None:
        self.stage_since = on
        self.cycle_started_on = on

    @transition(
        field=stage, source=Stage.REMINDER, target=Stage.SOFT, conditions=[_is_due_for_soft]
    )
    def soften(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION],
        target=Stage.CURRENT,
        conditions=[_has_nothing_overdue],
    )
    def settle(self, *, on: dt.date) -> None:
        self.stage_since = on
        self.cycle_started_on = None

    # Moves a manager approves through an Escalation.
    @transition(
        field=stage,
        source=[Stage.REMINDER, Stage.SOFT],
        target=Stage.HARD,
        conditions=[_is_past_due],
        permission=MANAGER_PERMISSION,
    )
    def harden(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.SOFT, Stage.HARD, Stage.AGENCY],
        target=Stage.LITIGATION,
        conditions=[_is_past_due],
        permission=MANAGER_PERMISSION,
    )
    def litigate(self, *, on: dt.date) -> None:
        self.stage_since = on

    @transition(
        field=stage,
        source=[Stage.SOFT, Stage.HARD, Stage.LITIGATION],
        target=Stage.AGENCY,
        conditions=[_is_past_due],
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

    def credit_hold_overridden(self, on: dt.date) -> bool:
        return self.credit_hold_override_until is not None and self.credit_hold_override_until >= on


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


class Evidence(models.Model):
    """A file kept for enforcement (DOMAIN.md line 15), fingerprinted with SHA-256."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to="evidence/%Y/%m/")
    sha256 = models.CharField(max_length=64, db_index=True)
    description = models.CharField(max_length=300, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.description or self.file.name


class Escalation(models.Model):
    """A request to move an account to a stage that needs a manager's approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="escalations")
    to_stage = models.CharField(
        max_length=20, choices=[(s.value, s.label) for s in ESCALATED_STAGES]
    )
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty when proposed by the daily sweep",
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    requested_on = models.DateField(help_text="Business date")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    evidence = models.ManyToManyField(Evidence, blank=True)
    agency = models.ForeignKey(
        "receivables.Agency",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For a placement: the agency that takes the account",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per dealer and stage: the sweep proposes it once.
            models.UniqueConstraint(
                fields=["dealer", "to_stage"],
                condition=Q(status="pending"),
                name="escalation_one_pending_per_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dealer_id} -> {self.to_stage} ({self.status})"


class InstallmentPlan(models.Model):
    """A series of promises agreed in one conversation."""

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="plans")
    made_on = models.DateField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    note = models.TextField(blank=True)

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"Plan {self.pk} for {self.dealer_id}"


class Promise(models.Model):
    """A promise to pay an amount by a date (DOMAIN.md line 8).

    `requested_due_on` is the date the dealer named; `due_on` is the business day it moved
    to when that fell on a weekend or public holiday. The sweep decides it the day after
    `due_on` from the money received since `made_on`.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        PARTLY_KEPT = "partly_kept", "Partly kept"
        BROKEN = "broken", "Broken"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="promises")
    plan = models.ForeignKey(
        InstallmentPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="promises"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    requested_due_on = models.DateField()
    due_on = models.DateField()
    made_on = models.DateField()
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    note = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    received_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=ZERO, help_text="Money counted for it"
    )
    checked_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "due_on"]),
            # The per-dealer counts of the facts query (broken recently, due today).
            models.Index(fields=["dealer", "status", "due_on"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("requested_due_on")),
                name="promise_moves_only_later",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} by {self.due_on}"

    @property
    def is_broken(self) -> bool:
        """Partly kept is still broken for the rest (DOMAIN.md line 17)."""
        return self.status in (self.Status.BROKEN, self.Status.PARTLY_KEPT)

    @property
    def was_moved(self) -> bool:
        return self.due_on != self.requested_due_on


class Excuse(models.Model):
    """An excuse collectors hear, with the firm answer and the concrete ask (line 10)."""

    text = models.CharField(max_length=200, unique=True)
    counter_script = models.TextField()
    ask = models.TextField(help_text="The concrete ask: a date, an amount, a channel")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "text"]

    def __str__(self) -> str:
        return self.text


class ContactLog(models.Model):
    """Every call, visit, e-mail, SMS or letter to a dealer. A contact outside the
    policy's rules is still recorded, and flagged for the manager with the rule broken."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        VISIT = "visit", "Visit"
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        LETTER = "letter", "Letter"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        PROMISE = "promise", "Promise to pay"
        REFUSED = "refused", "Refused"
        DISPUTE = "dispute", "Dispute raised"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="contact_logs")
    person = models.ForeignKey(
        "receivables.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    excuse = models.ForeignKey(Excuse, null=True, blank=True, on_delete=models.PROTECT)
    note = models.TextField(blank=True)
    promise = models.ForeignKey(Promise, null=True, blank=True, on_delete=models.SET_NULL)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    broken_rule = models.CharField(
        max_length=200, blank=True, help_text="The policy rule this contact broke, if any"
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["dealer", "-at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.dealer_id} {self.at:%Y-%m-%d %H:%M}"


class Task(models.Model):
    """A follow-up for a collector (or manager): call, visit, letter or review."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        VISIT = "visit", "Visit"
        LETTER = "letter", "Letter"
        REVIEW = "review", "Review"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_on = models.DateField()
    window_from = models.TimeField(null=True, blank=True)
    window_to = models.TimeField(null=True, blank=True)
    reason = models.TextField()
    source_key = models.CharField(
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text="Set when a job made it, so that running the job again makes it once",
    )
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "window_from", "id"]
        indexes = [models.Index(fields=["assignee", "done_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.dealer_id} on {self.due_on}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class DealerEvent(models.Model):
    """A danger sign (DOMAIN.md line 14): alerts the manager and proposes escalation."""

    class Kind(models.TextChoices):
        OWNERSHIP_TRANSFER = "ownership_transfer", "Ownership transfer"
        PARTNERS_SPLIT = "partners_split", "Partners splitting"
        NEW_REPRESENTATIVE = "new_representative", "New legal representative"
        RELOCATION = "relocation", "Relocation"
        BUSINESS_CHANGE = "business_change", "Business change"
        CLOSURE = "closure", "Closure"
        BANKRUPTCY = "bankruptcy", "Bankruptcy"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_on = models.DateField()
    note = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    reported_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.dealer_id})"


class Alert(models.Model):
    """Something a manager must look at now."""

    class Kind(models.TextChoices):
        DEALER_EVENT = "dealer_event", "Dealer event"
        CONTACT_RULE = "contact_rule", "Contact outside the rules"
        LIMITATION = "limitation", "Limitation period nearing"
        ESCALATION = "escalation", "Escalation proposed"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    source_key = models.CharField(max_length=100, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.dealer_id}"


class Letter(models.Model):
    """A letter due to a dealer. The sweep records it; rendering to PDF fills `pdf` and
    `sha256` once, so every download is the same bytes."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "Reminder"
        RECONCILIATION = "reconciliation", "Reconciliation"
        INTEREST_NOTICE = "interest_notice", "Interest notice"
        FINAL_DEMAND = "final_demand", "Final demand"

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="letters")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(default=1)
    issued_on = models.DateField(help_text="Business date")
    cycle_started_on = models.DateField(
        null=True, blank=True, help_text="The overdue episode this letter belongs to"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    interest_rate_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    deadline = models.DateField(null=True, blank=True, help_text="Pay by; interest runs after")
    created_at = models.DateTimeField(auto_now_add=True)
    pdf = models.FileField(upload_to="letters/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "kind", "level", "cycle_started_on"],
                name="letter_once_per_level_and_cycle",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.level} to {self.dealer_id}"


class InterestCharge(models.Model):
    """Interest posted after a written notice's deadline. It is also an `Order` line of
    the ledger (kind interest), so payments settle it like any other item."""

    notice = models.ForeignKey(Letter, on_delete=models.PROTECT, related_name="interest_charges")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="interest_charge")
    period_from = models.DateField()
    period_to = models.DateField()
    principal = models.DecimalField(max_digits=14, decimal_places=2)
    rate_percent = models.DecimalField(max_digits=5, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-period_to"]
        constraints = [
            models.UniqueConstraint(
                fields=["notice", "period_to"], name="interest_once_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"Interest {self.period_from}..{self.period_to} on {self.notice_id}"


class SweepBatch(models.Model):
    """A claimed batch of the daily sweep: (business date, batch number) is done once,
    whatever number of workers or runs race for it."""

    business_date = models.DateField()
    number = models.PositiveIntegerField()
    first_dealer_id = models.BigIntegerField()
    last_dealer_id = models.BigIntegerField()
    finished_at = models.DateTimeField(auto_now_add=True)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-business_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["business_date", "number"], name="sweep_batch_once"),
        ]

    def __str__(self) -> str:
        return f"Sweep {self.business_date} batch {self.number}"

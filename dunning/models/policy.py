"""The collection policy: the rules of collection as data that managers edit (versioned)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords


def _percent(default: Decimal, name: str) -> models.DecimalField:
    return models.DecimalField(
        name,
        max_digits=5,
        decimal_places=2,
        default=default,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        help_text="Percent of the class's open amount",
    )


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
    letter_spacing_days = models.PositiveIntegerField(
        default=14,
        help_text="Days at least between two letters of an overdue episode: levels go up "
        "one at a time, never straight to the final demand",
    )
    reconciliation_reply_days = models.PositiveIntegerField(
        default=14,
        help_text="Days a dealer has to answer a reconciliation letter before its balance "
        "is deemed confirmed (the clause printed on the letter)",
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
    # Risk classes by age of the oldest overdue order ("Classify the debt", docs/PRACTICE.md §4).
    quasi_bad_after_days = models.PositiveIntegerField(default=90)
    bad_after_days = models.PositiveIntegerField(default=365)
    dead_after_days = models.PositiveIntegerField(default=730)
    # The bad-debt allowance: the share of each risk class's open amount expected to be
    # lost ("classes drive effort and the bad-debt allowance", docs/PRACTICE.md §4).
    allowance_uncollected_percent = _percent(Decimal("1.00"), "Allowance for uncollected debt")
    allowance_in_collection_percent = _percent(Decimal("5.00"), "Allowance in collection")
    allowance_quasi_bad_percent = _percent(Decimal("20.00"), "Allowance for quasi-bad debt")
    allowance_bad_percent = _percent(Decimal("50.00"), "Allowance for bad debt")
    allowance_dead_percent = _percent(Decimal("100.00"), "Allowance for dead debt")
    credit_override_max_days = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="A manager's credit-hold override ends at most this many days ahead",
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "collection policy"

    def __str__(self) -> str:
        return "Collection policy"

    def allowance_percent(self, risk_class: str) -> Decimal:
        """The allowance rate of a risk class (its `RiskClass` value), in percent."""
        return getattr(self, f"allowance_{risk_class}_percent")

    @classmethod
    def current(cls) -> CollectionPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy

"""Promises to pay and the installment plans that are series of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from receivables.models import ZERO, Dealer


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


class PromiseQuerySet(models.QuerySet["Promise"]):
    def broken(self) -> PromiseQuerySet:
        """Broken, or only partly kept: still broken for the rest."""
        return self.filter(status__in=BROKEN_STATUSES)

    def decided(self) -> PromiseQuerySet:
        """Checked by the daily sweep: kept, partly kept or broken."""
        return self.exclude(status=Promise.Status.OPEN)


class Promise(models.Model):
    """A promise to pay an amount by a date ("Promises are pinned down", docs/PRACTICE.md §8).

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
    objects = PromiseQuerySet.as_manager()

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
        """Partly kept is still broken for the rest ("Partial payments", docs/PRACTICE.md §17)."""
        return self.status in BROKEN_STATUSES

    @property
    def was_moved(self) -> bool:
        return self.due_on != self.requested_due_on


# What a broken promise is, for every count of them: partly kept is broken for the rest.
BROKEN_STATUSES = (Promise.Status.BROKEN, Promise.Status.PARTLY_KEPT)

"""Requests to move an account to a stage a manager must approve, and the evidence
kept for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from dunning.models.stages import ESCALATED_STAGES
from receivables.models import Dealer
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class Evidence(models.Model):
    """A file kept for enforcement ("Evidence", docs/PRACTICE.md §15), fingerprinted with
    SHA-256."""

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


class EscalationQuerySet(models.QuerySet["Escalation"]):
    def visible_to(self, user: User | AnonymousUser) -> EscalationQuerySet:
        """The escalations this user may see, on the pages and through the API alike:
        managers and read-only roles see every escalation of the dealers they see; a
        collector or an agency sees the requests they made."""
        escalations = self.filter(dealer__in=Dealer.objects.visible_to(user))
        if role_of(user) in (Role.COLLECTOR, Role.AGENCY):
            escalations = escalations.filter(requested_by=user.pk)
        return escalations


class Escalation(models.Model):
    """A request to move an account to a stage that needs a manager's approval."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        # Closed by the daily sweep because the move no longer applies (the dealer paid,
        # the stage moved): nobody decided it, and it holds no later proposal back.
        CLOSED = "closed", "Closed"

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
    objects = EscalationQuerySet.as_manager()

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

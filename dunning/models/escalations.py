"""Requests to move an account to a stage a manager must approve, and the evidence
kept for them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dunning.models.stages import ESCALATED_STAGES, Stage, StageChange
from receivables.models import MONEY_FIELD, Dealer
from receivables.rates import rate_expression
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

    def with_queue_figures(self, today: dt.date) -> EscalationQuerySet:
        """The escalations with what a manager decides by, in SQL, for any number of rows:

        - `overdue` and `oldest_due_on`: the dealer's figures as of `today`, read from
          `DealerQuerySet.with_balance` (kept figures for business today: the figures of the
          listed requests' dealers that no longer hold are refreshed first, by its one
          writer), and `overdue_in_reporting`, that amount in the reporting currency (NULL
          when the dealer's currency has no rate: ranked last, and said so on the row);
        - `stage_now`, the account's stage, and `stage_then`, the stage it was in when the
          request was made (from the recorded stage changes around the request's time; the
          stage now when none was recorded);
        - `evidence_count`.
        """
        dealers = Dealer.objects.filter(pk__in=self.values("dealer_id")).with_balance(today)
        # django-stubs cannot see with_balance's annotations: `values` of them is typed Any.
        figures: Any = dealers.filter(pk=OuterRef("dealer_id"))
        changes = StageChange.objects.filter(dealer_id=OuterRef("dealer_id"))
        stage_before = changes.filter(at__lte=OuterRef("requested_at")).order_by("-at", "-pk")
        stage_after = changes.filter(at__gt=OuterRef("requested_at")).order_by("at", "pk")
        evidence = (
            Escalation.evidence.through.objects.filter(escalation_id=OuterRef("pk"))
            .order_by()
            .values("escalation_id")
            .annotate(n=Count("pk"))
            .values("n")  # type: ignore[misc]  # django-stubs cannot see the annotation
        )
        return (
            self.select_related("dealer", "dealer__collector", "requested_by", "decided_by")
            .select_related("agency")
            .annotate(
                overdue=Subquery(figures.values("overdue")[:1], output_field=MONEY_FIELD),
                oldest_due_on=Subquery(figures.values("oldest_due_on")[:1]),
                stage_now=Coalesce(
                    F("dealer__account__stage"),
                    Value(Stage.CURRENT.value),
                    output_field=models.CharField(),
                ),
                evidence_count=Coalesce(
                    Subquery(evidence), Value(0), output_field=models.IntegerField()
                ),
            )
            .annotate(
                overdue_in_reporting=F("overdue") * rate_expression(F("dealer__currency"), today),
                stage_then=Coalesce(
                    Subquery(stage_before.values("to_stage")[:1]),
                    Subquery(stage_after.values("from_stage")[:1]),
                    F("stage_now"),
                    output_field=models.CharField(),
                ),
            )
        )


class Escalation(models.Model):
    """A request to move an account to a stage that needs a manager's approval."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        # Closed by the daily sweep because the move no longer applies (the dealer paid,
        # the stage moved): nobody decided it, and it holds no later proposal back.
        CLOSED = "closed", _("Closed")

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

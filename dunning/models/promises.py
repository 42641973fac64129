"""Promises to pay and the installment plans that are series of them."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.dates import add_years
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

    # A dealer's promise reliability: the share of its decided promises (kept, partly
    # kept, broken) that fell due in the twelve months up to `today` and were kept; a
    # partly kept promise counts as not kept ("Partial payments", docs/PRACTICE.md §17).
    # One rule for one dealer (`reliability_counts`, the collection panel) and for many
    # in one query (`with_dealer_reliability`, the receipts forecast).

    def counted_for_reliability(self, today: dt.date) -> PromiseQuerySet:
        """The promises a reliability counts on `today`: decided, due in the twelve months
        up to and including `today`."""
        return self.decided().filter(due_on__gt=add_years(today, -1), due_on__lte=today)

    def reliability_counts(self, today: dt.date) -> tuple[int, int]:
        """(kept, decided) among these promises as a reliability counts them on `today`,
        in one query: over one dealer's promises, its record; over many, theirs together."""
        row = self.counted_for_reliability(today).aggregate(
            decided=Count("pk"), kept=Count("pk", filter=Q(status=Promise.Status.KEPT))
        )
        return row["kept"], row["decided"]

    def with_dealer_reliability(self, today: dt.date) -> PromiseQuerySet:
        """Annotate each promise with its dealer's record on `today`: `dealer_kept` and
        `dealer_decided` (0 when the dealer has no decided promise), two correlated
        counts served by the index on (dealer, status, due_on)."""
        record = (
            Promise.objects.filter(dealer=OuterRef("dealer"))
            .counted_for_reliability(today)
            .order_by()
            .values("dealer")
        )
        kept = record.filter(status=Promise.Status.KEPT)
        integer: models.IntegerField[int, int] = models.IntegerField()
        return self.annotate(
            dealer_decided=Coalesce(
                Subquery(record.annotate(n=Count("pk")).values("n")), Value(0), output_field=integer
            ),
            dealer_kept=Coalesce(
                Subquery(kept.annotate(n=Count("pk")).values("n")), Value(0), output_field=integer
            ),
        )


class Promise(models.Model):
    """A promise to pay an amount by a date ("Promises are pinned down", docs/PRACTICE.md §8).

    `requested_due_on` is the date the dealer named; `due_on` is the business day it moved
    to when that fell on a weekend or public holiday. The sweep decides it the day after
    `due_on` from the money received since `made_on`.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        KEPT = "kept", _("Kept")
        PARTLY_KEPT = "partly_kept", _("Partly kept")
        BROKEN = "broken", _("Broken")

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


# The annotations of `PromiseQuerySet.with_dealer_reliability`.
DEALER_RELIABILITY = ("dealer_kept", "dealer_decided")

# What a broken promise is, for every count of them: partly kept is broken for the rest.
BROKEN_STATUSES = (Promise.Status.BROKEN, Promise.Status.PARTLY_KEPT)


def reliability_percent(kept: int, decided: int) -> Decimal | None:
    """A reliability as shown: kept promises as a percent of the decided ones, two
    decimals, rounded half up; None when none was decided."""
    if not decided:
        return None
    percent = Decimal(kept) * 100 / Decimal(decided)
    return percent.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

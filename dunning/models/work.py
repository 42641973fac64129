"""Follow-up tasks for collectors and alerts for managers."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.models import Dealer


class Task(models.Model):
    """A follow-up for a collector (or manager): call, visit, letter or review."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        VISIT = "visit", _("Visit")
        LETTER = "letter", _("Letter")
        REVIEW = "review", _("Review")

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
        # The dealer's code, never its internal id ("Call CZ0115", not "Call 115").
        return f"{self.get_kind_display()} {self.dealer.code} on {self.due_on}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class Alert(models.Model):
    """Something a manager must look at now."""

    class Kind(models.TextChoices):
        DEALER_EVENT = "dealer_event", _("Dealer event")
        CONTACT_RULE = "contact_rule", _("Contact outside the rules")
        LIMITATION = "limitation", _("Limitation period nearing")
        ESCALATION = "escalation", _("Escalation proposed")

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
        return f"{self.get_kind_display()}: {self.dealer.code}"

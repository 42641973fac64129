"""What the team hears and sees of a dealer: the excuse library, the contact log and
danger-sign events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dunning.models.promises import Promise
from receivables.models import Dealer


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
        return self.shown_text

    # The library seeded by migration 0002 is in the translation catalog, so a collector
    # reads it in their language; an excuse a manager wrote shows as written.
    @property
    def shown_text(self) -> str:
        return gettext(self.text)

    @property
    def shown_counter_script(self) -> str:
        return gettext(self.counter_script)

    @property
    def shown_ask(self) -> str:
        return gettext(self.ask)


class ContactLog(models.Model):
    """Every call, visit, e-mail, SMS or letter to a dealer. A contact outside the
    policy's rules is still recorded, and flagged for the manager with the rule broken."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        VISIT = "visit", _("Visit")
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")
        LETTER = "letter", _("Letter")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        PROMISE = "promise", _("Promise to pay")
        REFUSED = "refused", _("Refused")
        DISPUTE = "dispute", _("Dispute raised")

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


class DealerEvent(models.Model):
    """A danger sign ("Watch for danger signs", docs/PRACTICE.md §14): alerts the manager
    and proposes escalation."""

    class Kind(models.TextChoices):
        OWNERSHIP_TRANSFER = "ownership_transfer", _("Ownership transfer")
        PARTNERS_SPLIT = "partners_split", _("Partners splitting")
        NEW_REPRESENTATIVE = "new_representative", _("New legal representative")
        RELOCATION = "relocation", _("Relocation")
        BUSINESS_CHANGE = "business_change", _("Business change")
        CLOSURE = "closure", _("Closure")
        BANKRUPTCY = "bankruptcy", _("Bankruptcy")

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

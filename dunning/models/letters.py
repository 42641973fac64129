"""Letters to dealers and the interest charged after a written notice."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from receivables.models import ZERO, Dealer, Order

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


class LetterQuerySet(models.QuerySet["Letter"]):
    def visible_to(self, user: User | AnonymousUser) -> LetterQuerySet:
        """The letters of the dealers this user sees (finance, managers and auditors all;
        a collector their own dealers'; an agency those placed with it)."""
        return self.filter(dealer__in=Dealer.objects.visible_to(user))

    def in_postal_order(self) -> LetterQuerySet:
        """As the post office sorts them: country, postal code, dealer name (then the
        dealer's code and the letter, so that the order is total)."""
        return self.order_by(
            "dealer__country", "dealer__postal_code", "dealer__name", "dealer__code", "pk"
        )

    def reconciliation(self) -> LetterQuerySet:
        return self.filter(kind=Letter.Kind.RECONCILIATION)

    def awaiting_reply(self, on: dt.date) -> LetterQuerySet:
        """Reconciliation letters without a reply whose reply-by date is `on` or later."""
        return self.reconciliation().filter(reply="", reply_by__gte=on)

    def past_reply_by(self, on: dt.date) -> LetterQuerySet:
        """Reconciliation letters without a reply whose reply-by date passed before `on`."""
        return self.reconciliation().filter(reply="").exclude(reply_by__gte=on)

    def replied(self) -> LetterQuerySet:
        return self.reconciliation().exclude(reply="")


class Letter(models.Model):
    """A letter due to a dealer. The sweep records it; rendering to PDF
    (`dunning.printing`, in a Celery task after the sweep's commit) fills `pdf` and
    `sha256` once, so every download is the same bytes."""

    class Status(models.TextChoices):
        RENDERING = "rendering", _("Rendering")
        READY = "ready", _("Ready to print")
        POSTED = "posted", _("Posted")
        FAILED = "failed", _("Rendering failed")

    class Kind(models.TextChoices):
        REMINDER = "reminder", _("Reminder")
        RECONCILIATION = "reconciliation", _("Reconciliation")
        INTEREST_NOTICE = "interest_notice", _("Interest notice")
        FINAL_DEMAND = "final_demand", _("Final demand")
        PRE_LITIGATION = "pre_litigation", _("Pre-litigation notice")
        PLACEMENT = "placement", _("Placement notice")

    class Delivery(models.TextChoices):
        POST = "post", _("Post")
        EMAIL = "email", _("E-mail")

    class Reply(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed")
        DISPUTED = "disputed", _("Disputed")

    class ReplyChannel(models.TextChoices):
        FINANCE = "finance", _("Entered by finance")
        REPLY_PAGE = "reply_page", _("Reply page")

    # A reconciliation letter's reply address works this many days after the letter's date.
    REPLY_TOKEN_DAYS = 90

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
    language = models.CharField(max_length=10, blank=True, help_text="Written in; the dealer's")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RENDERING)
    failure = models.TextField(blank=True, help_text="Why the last rendering failed")
    posted_on = models.DateField(null=True, blank=True)
    tracking_number = models.CharField(max_length=60, blank=True)
    receipt_on = models.DateField(null=True, blank=True, help_text="Return receipt's date")
    delivery = models.CharField(max_length=5, choices=Delivery.choices, default=Delivery.POST)
    email_to = models.EmailField(blank=True, help_text="Sent by e-mail to (when delivered so)")
    escalation = models.ForeignKey(
        "dunning.Escalation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="letters",
        help_text="The approved escalation a pre-litigation or placement notice announces",
    )
    # Reconciliation letters: the statement's date, the reply deadline printed with the
    # deemed-confirmed clause, the reply address's token and the reply itself.
    as_of = models.DateField(null=True, blank=True, help_text="Statement of account as of")
    reply_by = models.DateField(
        null=True, blank=True, help_text="Without a reply by then the balance is deemed confirmed"
    )
    reply_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    reply = models.CharField(max_length=10, choices=Reply.choices, blank=True)
    replied_on = models.DateField(null=True, blank=True)
    disputed_balance = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    reply_note = models.TextField(blank=True)
    reply_scan = models.FileField(upload_to="replies/%Y/%m/", blank=True)
    reply_channel = models.CharField(max_length=10, choices=ReplyChannel.choices, blank=True)
    reply_recorded_at = models.DateTimeField(null=True, blank=True)
    reply_address = models.GenericIPAddressField(
        null=True, blank=True, help_text="Where a reply given on the reply page came from"
    )

    history = HistoricalRecords()
    objects = LetterQuerySet.as_manager()

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

    @property
    def reply_expires_on(self) -> dt.date:
        """The last day a reconciliation letter's reply address takes a reply."""
        return self.issued_on + dt.timedelta(days=self.REPLY_TOKEN_DAYS)


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

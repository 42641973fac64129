"""The receivables ledger: dealers, their orders (the feed order is the invoice), payments
and the allocations that tie payments to orders.

An order's open amount on a day is its amount less the allocations that had taken effect
by the end of that day; every list and report computes it in SQL through the QuerySet
methods below (`OrderQuerySet.open_at`). Two dates derived from the allocations are kept
on the order so that this reads only what is open on the day: `paid_from` and
`settled_on` (see `Order`). The one figure kept per dealer (`DealerBalance`) is a cache
of `DealerQuerySet.with_derived_balance` for business today (receivables/balances.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import (
    Case,
    Count,
    Expression,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
# "Open" means at least a cent open. Comparing with half a cent instead of zero keeps the
# test exact on PostgreSQL and right on SQLite, whose SUM adds in binary floating point
# (0.10 + 0.70 there is 0.7999999999999999, which would leave 1e-16 "open").
HALF_CENT = Decimal("0.005")


# Aging buckets as docs/API.md defines them: (key, lowest age, highest age) in days past due.
AGING_BUCKETS: list[tuple[str, int | None, int | None]] = [
    ("current", None, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("366-730", 366, 730),
    ("731+", 731, None),
]


def money_sum(expression: str | F, **kwargs) -> Coalesce:
    """SUM that is 0.00 instead of NULL when there is nothing to add."""
    return Coalesce(
        Sum(expression, **kwargs),
        Value(ZERO),
        output_field=models.DecimalField(max_digits=14, decimal_places=2),
    )


def bucket_for_due_on(as_of: dt.date) -> Case:
    """SQL CASE giving each order its aging bucket key on `as_of`.

    Age is `as_of - due_on`; comparing due_on with fixed dates keeps the expression
    portable and lets the database use an index on due_on.
    """
    whens = []
    for key, low, _high in AGING_BUCKETS[1:]:
        assert low is not None
        whens.append(When(due_on__lte=as_of - dt.timedelta(days=low), then=Value(key)))
    # Oldest bucket first so that the first matching WHEN wins.
    whens.reverse()
    return Case(*whens, default=Value("current"), output_field=models.CharField())


class OpenOn(Expression):
    """True for the orders open at the end of `on` by their kept interval: ordered by then
    and not yet settled (`ordered_on <= on < settled_on`, no `settled_on` meaning "not
    yet"). A cent short of settled still passes: `OrderQuerySet.open_at` also checks the
    open amount.

    One expression rather than two lookups so that PostgreSQL can be asked the question
    its GiST index on `daterange(ordered_on, settled_on, '[)')` answers (migration 0007);
    elsewhere it is the plain comparison. The range is never reversed: a CHECK keeps
    `settled_on >= ordered_on`.
    """

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, on: dt.date) -> None:
        super().__init__()
        self.on = on
        self.ordered_on: Any = F("ordered_on")
        self.settled_on: Any = F("settled_on")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.on!r})"

    def get_source_expressions(self) -> list[Any]:
        return [self.ordered_on, self.settled_on]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        self.ordered_on, self.settled_on = exprs

    def _columns(self, compiler: Any, connection: Any) -> tuple[str, list, str, list, Any]:
        ordered, ordered_params = compiler.compile(self.ordered_on)
        settled, settled_params = compiler.compile(self.settled_on)
        on = connection.ops.adapt_datefield_value(self.on)
        return ordered, list(ordered_params), settled, list(settled_params), on

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        ordered, ordered_params, settled, settled_params, on = self._columns(compiler, connection)
        sql = f"({ordered} <= %s AND ({settled} IS NULL OR {settled} > %s))"
        return sql, [*ordered_params, on, *settled_params, *settled_params, on]

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        ordered, ordered_params, settled, settled_params, on = self._columns(compiler, connection)
        sql = f"(daterange({ordered}, {settled}, '[)') @> %s::date)"
        return sql, [*ordered_params, *settled_params, on]


class Agency(models.Model):
    """An external collection agency; its users see only the dealers placed with it."""

    name = models.CharField(max_length=200, unique=True)
    commission_percent = models.DecimalField(max_digits=5, decimal_places=2, default=ZERO)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="agencies")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"

    def __str__(self) -> str:
        return self.name


class DealerQuerySet(models.QuerySet["Dealer"]):
    def visible_to(self, user: User | AnonymousUser) -> DealerQuerySet:
        """The dealers this user may see: the one place where scoping by role lives."""
        from receivables.roles import Role, role_of

        role = role_of(user)
        if role is None:
            return self.none()
        if role == Role.COLLECTOR:
            return self.filter(collector_id=user.pk)
        if role == Role.AGENCY:
            return self.filter(agency__users=user.pk)
        return self

    def with_balance(self, on: dt.date) -> DealerQuerySet:
        """Annotate `balance` (what is open on the dealer's orders; unapplied credit is
        not netted), `overdue` and `oldest_due_on` as of the end of `on`, in one query.

        For business today the figures are the dealers' kept ones (`DealerBalance`):
        the rows of these dealers that no longer hold (a day has passed since they were
        written and an order has fallen past due) are refreshed first, by the one writer
        (`receivables.balances`), so that a list of every dealer of a large book sorted
        by what is overdue reads one row per dealer. Apply the filters that narrow the
        dealers before this. Any other day is derived from the open orders."""
        # Imported here: the writer imports these models.
        from receivables.balances import refresh_stale
        from receivables.dates import business_today

        if on != business_today():
            return self.with_derived_balance(on)
        refresh_stale(self)
        return self.annotate(
            balance=Coalesce(F("kept_balance__balance"), Value(ZERO), output_field=MONEY_FIELD),
            overdue=Coalesce(F("kept_balance__overdue"), Value(ZERO), output_field=MONEY_FIELD),
            oldest_due_on=F("kept_balance__oldest_due_on"),
        )

    def with_derived_balance(self, on: dt.date) -> DealerQuerySet:
        """`with_balance` from the open orders alone, never the kept row: what the kept
        row must always equal (tests), and what `receivables.balances` stores."""
        return self.annotate(**derived_balance(on))


MONEY_FIELD: models.DecimalField = models.DecimalField(max_digits=14, decimal_places=2)


def derived_balance(on: dt.date) -> dict[str, Any]:
    """The expressions of a dealer's balance, overdue and oldest overdue due date at the
    end of `on`, from its open orders (correlated on the dealer's pk)."""
    # Settled orders are skipped by their kept interval (`open_at`): a dealer's figures
    # read only what is open on the day.
    open_orders = Order.objects.filter(dealer=OuterRef("pk")).open_at(on)
    overdue_orders = open_orders.filter(due_on__lt=on)
    return {
        "balance": Coalesce(
            Subquery(
                open_orders.values("dealer").annotate(total=Sum("open_amount")).values("total")
            ),
            Value(ZERO),
            output_field=MONEY_FIELD,
        ),
        "overdue": Coalesce(
            Subquery(
                overdue_orders.values("dealer").annotate(total=Sum("open_amount")).values("total")
            ),
            Value(ZERO),
            output_field=MONEY_FIELD,
        ),
        "oldest_due_on": Subquery(overdue_orders.order_by("due_on").values("due_on")[:1]),
    }


class Dealer(models.Model):
    """A dealer who buys feed on credit and resells it to farmers."""

    code = models.CharField(max_length=40, unique=True, help_text="Business key from the ERP")
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, help_text="ISO 3166 alpha-2")
    currency = models.CharField(max_length=3, default="EUR")
    language = models.CharField(max_length=10, default="en")
    time_zone = models.CharField(
        max_length=50, blank=True, help_text="IANA zone; empty means the country's main zone"
    )
    address = models.TextField(blank=True, help_text="Street lines; postal code and city apart")
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    payment_terms_days = models.PositiveIntegerField(default=30)
    credit_limit = models.DecimalField(max_digits=14, decimal_places=2, default=ZERO)
    region = models.CharField(max_length=100, blank=True, db_index=True)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="dealers",
    )
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.SET_NULL, related_name="dealers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()
    objects = DealerQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="dealer_credit_limit_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def unapplied_credit(self) -> Decimal:
        """Money received from this dealer that no order has absorbed yet."""
        received = self.payments.aggregate(total=money_sum("amount"))["total"]
        applied = Allocation.objects.filter(payment__dealer=self).aggregate(
            total=money_sum("amount")
        )["total"]
        return received - applied


class DealerBalance(models.Model):
    """A dealer's balance, overdue amount and oldest overdue due date as of `as_of`, kept
    so that lists and the worklist over a large book read one row per dealer.

    Written only by `receivables.balances` as of business today (the allocation rule
    for every dealer it replays; the sweep and `DealerQuerySet.with_balance` for the rows
    that no longer hold); read only through `with_balance`. The figures stay right from
    `as_of` until the day before `changes_on`, the first day they would change with no
    write to the ledger (an open order falling past due, an order or a payment dated
    later); NULL when none will.
    """

    dealer = models.OneToOneField(
        Dealer, primary_key=True, on_delete=models.CASCADE, related_name="kept_balance"
    )
    as_of = models.DateField()
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    overdue = models.DecimalField(max_digits=14, decimal_places=2)
    oldest_due_on = models.DateField(null=True)
    changes_on = models.DateField(null=True)

    class Meta:
        indexes = [models.Index(fields=["changes_on"])]

    def __str__(self) -> str:
        return f"{self.dealer_id} on {self.as_of}: {self.balance} ({self.overdue} overdue)"

    @staticmethod
    def holds_on(on: dt.date, prefix: str = "kept_balance__") -> Q:
        """The kept rows whose figures hold at the end of `on`; `prefix` reaches the row
        from the model queried (from a dealer by default)."""
        return Q(**{f"{prefix}as_of__lte": on}) & (
            Q(**{f"{prefix}changes_on__isnull": True}) | Q(**{f"{prefix}changes_on__gt": on})
        )


class Contact(models.Model):
    """One of the dealer's people: the practice wants the three key roles on file ("Three
    contacts per dealer", docs/PRACTICE.md §11)."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Business owner")
        RESPONSIBLE = "responsible", _("Responsible person")
        CONTROLLER = "controller", _("Financial controller")
        OTHER = "other", _("Other")

    dealer = models.ForeignKey(Dealer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OTHER)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    window_from = models.TimeField(null=True, blank=True, help_text="Preferred contact from")
    window_to = models.TimeField(null=True, blank=True, help_text="Preferred contact until")

    history = HistoricalRecords()

    class Meta:
        ordering = ["dealer", "role", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"

    @property
    def preferred_window(self) -> str:
        if self.window_from and self.window_to:
            return f"{self.window_from:%H:%M}-{self.window_to:%H:%M}"
        return ""


class OrderQuerySet(models.QuerySet["Order"]):
    def with_paid(self, on: dt.date | None = None) -> OrderQuerySet:
        """Annotate `paid`: allocations in effect by the end of `on` (all when None)."""
        allocations = Allocation.objects.filter(order=OuterRef("pk"))
        if on is not None:
            allocations = allocations.filter(applied_on__lte=on)
        paid = allocations.values("order").annotate(total=Sum("amount")).values("total")
        return self.annotate(
            paid=Coalesce(
                Subquery(paid),
                Value(ZERO),
                output_field=models.DecimalField(max_digits=14, decimal_places=2),
            )
        )

    def of_dealers(self, dealers: DealerQuerySet) -> OrderQuerySet:
        """The orders of these dealers. Dealers not narrowed by any filter (a manager
        sees the whole book) add no condition: a report over every order then reads no
        dealer it does not need."""
        if not dealers.query.has_filters():
            return self.all()
        return self.filter(dealer__in=dealers)

    def open_at(self, on: dt.date) -> OrderQuerySet:
        """Orders open at the end of `on`, annotated with `open_amount` (docs/API.md
        "Aging"), read by their kept interval, never the whole history.

        The orders are cut by `OpenOn` (ordered by `on`, not settled by it; an index on
        PostgreSQL). Until `paid_from`, the day of its first allocation, an order's open
        amount is its whole amount; only the few orders partly paid by `on` sum their
        allocations."""
        paid = (
            Allocation.objects.filter(order=OuterRef("pk"), applied_on__lte=on)
            .values("order")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        money: models.DecimalField[Decimal, Decimal]
        money = models.DecimalField(max_digits=14, decimal_places=2)
        not_paid_yet = Q(paid_from__isnull=True) | Q(paid_from__gt=on)
        open_amount = Case(
            When(not_paid_yet, then=F("amount")),
            default=F("amount") - Coalesce(Subquery(paid), Value(ZERO), output_field=money),
            output_field=money,
        )
        # Unpaid orders are open for their whole amount (at least a cent): said so, the
        # planner also expects most open orders to pass, not a third of them.
        return (
            self.filter(OpenOn(on))
            .annotate(open_amount=open_amount)
            .filter(not_paid_yet | Q(open_amount__gte=HALF_CENT))
        )

    def overdue_on(self, on: dt.date) -> OrderQuerySet:
        return self.open_at(on).filter(due_on__lt=on)

    def aging(self, on: dt.date) -> dict:
        """The aging report of these orders on `on`, in one query. The amounts are only
        meaningful when the orders share a currency (see `aging_by_currency`)."""
        return aging_from_rows(on, self._aging_rows(on))

    def aging_by_currency(self, on: dt.date) -> dict[str, dict]:
        """One aging report per currency of the orders' dealers, in one query."""
        rows_by_currency: dict[str, list[dict[str, Any]]] = {}
        for row in self._aging_rows(on, F("dealer__currency")):
            rows_by_currency.setdefault(row["currency"], []).append(row)
        return {
            currency: aging_from_rows(on, rows)
            for currency, rows in sorted(rows_by_currency.items())
        }

    def _aging_rows(self, on: dt.date, currency: F | None = None) -> Iterable[dict[str, Any]]:
        orders = self.open_at(on).annotate(bucket=bucket_for_due_on(on))
        groups = {"currency": currency} if currency is not None else {}
        return (
            orders.values("bucket", **groups)
            .annotate(count=Count("id"), amount=Sum("open_amount"))
            .order_by()
        )


def aging_from_rows(on: dt.date, rows: Iterable[dict[str, Any]]) -> dict:
    """The aging report from rows of `bucket`, `count` and `amount`: the buckets in their
    order, every one present, with the total."""
    found = {row["bucket"]: row for row in rows}
    buckets = []
    for key, _low, _high in AGING_BUCKETS:
        row = found.get(key, {"count": 0, "amount": ZERO})
        buckets.append({"key": key, "count": row["count"], "amount": (row["amount"] or ZERO)})
    return {
        "as_of": on,
        "buckets": buckets,
        "total": {
            "count": sum(b["count"] for b in buckets),
            "amount": sum((b["amount"] for b in buckets), ZERO),
        },
    }


class Order(models.Model):
    """A feed order, which is also the invoice the dealer owes."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Feed order")
        INTEREST = "interest", _("Interest charge")

    number = models.CharField(max_length=40, unique=True, help_text="Text: leading zeros matter")
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="orders")
    kind = models.CharField(
        max_length=10,
        choices=Kind.choices,
        default=Kind.SALE,
        help_text="Interest charges are ledger lines too, settled by payments like orders",
    )
    ordered_on = models.DateField()
    due_on = models.DateField(db_index=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    disputed = models.BooleanField(default=False)
    dispute_reason = models.TextField(blank=True)
    disputed_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    delivery_note = models.FileField(upload_to="delivery-notes/%Y/%m/", blank=True)
    # The order's open interval, kept from its allocations: open from `ordered_on` to
    # `settled_on` (the day the allocations reached the amount, None while anything is
    # open), and for its whole amount until `paid_from` (the day of its first allocation,
    # None before any). Written only by `receivables.allocation` (`_write_open_interval`),
    # in the same transaction as the allocations they follow from; they let reports read
    # what is open on a day by index, without summing allocations for the unpaid bulk.
    settled_on = models.DateField(null=True, blank=True, editable=False)
    paid_from = models.DateField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["settled_on", "paid_from"])
    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "number"]
        indexes = [
            models.Index(fields=["dealer", "due_on"]),
            # The KPIs' sales of a period, read from the index alone on PostgreSQL.
            models.Index(
                fields=["ordered_on"], include=["dealer", "amount"], name="order_ordered_on_idx"
            ),
            # The KPIs' lateness of the orders settled in a period, read from the index.
            models.Index(
                fields=["settled_on"], include=["dealer", "due_on"], name="order_settled_on_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_amount_positive"),
            models.CheckConstraint(
                condition=Q(due_on__gte=F("ordered_on")), name="order_due_not_before_ordered"
            ),
            models.CheckConstraint(
                condition=Q(disputed_amount__isnull=True)
                | (Q(disputed_amount__gte=0) & Q(disputed_amount__lte=F("amount"))),
                name="order_disputed_amount_within_amount",
            ),
            # Allocations apply on or after the order's date, so its interval never ends
            # (or starts being paid) before it begins; `OpenOn` relies on it.
            models.CheckConstraint(
                condition=Q(settled_on__isnull=True) | Q(settled_on__gte=F("ordered_on")),
                name="order_settled_not_before_ordered",
            ),
            models.CheckConstraint(
                condition=Q(paid_from__isnull=True) | Q(paid_from__gte=F("ordered_on")),
                name="order_paid_from_not_before_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def days_past_due(self, on: dt.date) -> int:
        return max(0, (on - self.due_on).days)


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} x {self.quantity}"


class Payment(models.Model):
    """Money received from a dealer. It is spread over orders by `Allocation`s."""

    class Method(models.TextChoices):
        TRANSFER = "transfer", _("Bank transfer")
        CASH = "cash", _("Cash")
        CHEQUE = "cheque", _("Cheque")
        CARD = "card", _("Card")
        OFFSET = "offset", _("Offset / discount")
        OTHER = "other", _("Other")

    reference = models.CharField(max_length=60, unique=True)
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, related_name="payments")
    received_on = models.DateField()
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    method = models.CharField(max_length=20, choices=Method.choices, default=Method.TRANSFER)
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="named_payments",
        help_text="The order the dealer named; it is paid first",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["received_on", "reference"]
        indexes = [models.Index(fields=["dealer", "received_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.reference


class Allocation(models.Model):
    """Part of a payment applied to an order.

    `applied_on` is the business day the money counts against the order: the later of
    the payment's receipt and the order's date (credit waiting for the next order is
    applied the day that order arrives).
    """

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="allocations")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    applied_on = models.DateField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["applied_on", "id"]
        indexes = [models.Index(fields=["order", "applied_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.UniqueConstraint(fields=["payment", "order"], name="allocation_once_per_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.payment} -> {self.order}: {self.amount}"


class ApiToken(models.Model):
    """A bearer token for the JSON API. Only its SHA-256 is stored; it is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User) -> tuple[ApiToken, str]:
        raw = "rd_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, digest=cls.digest_of(raw), prefix=raw[:8])
        return token, raw


class ExchangeRate(models.Model):
    """What one unit of `currency` is worth in the reporting currency
    (`settings.REPORTING_CURRENCY`) from `on` until the currency's next rate.

    Written by `receivables.rates.upsert_rate`, `import_ledger --rates` and the admin;
    read by `receivables.rates.rates_on`. The reporting currency itself has no rows: its
    rate is always 1.
    """

    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. CZK")
    on = models.DateField(help_text="The day from which the rate applies")
    rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        help_text="Units of the reporting currency for one unit of this currency",
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["currency", "-on"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            # Its index also serves "the latest rate on or before a day" (rates_on).
            models.UniqueConstraint(fields=["currency", "on"], name="exchange_rate_once_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.on.isoformat()}: {self.rate}"


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def blocking(self, now: dt.datetime) -> ImportJobQuerySet:
        """The jobs that keep another import from starting at `now`: a check or an import
        still within the task's time limit, a clean check still within its hour to be
        confirmed (`ImportJob.blocks_on`)."""
        return self.filter(_within_time(now))

    def stale(self, now: dt.datetime) -> ImportJobQuerySet:
        """The jobs active by their status but past their time: crashed, or never
        confirmed (`ImportJob.stale_on`). They no longer block."""
        return self.filter(status__in=ImportJob.ACTIVE).exclude(_within_time(now))


def _within_time(now: dt.datetime) -> Q:
    """Active jobs still within their time at `now`. An import's time runs from its
    start, or from its confirmation while no worker has taken it yet."""
    limit = now - ImportJob.TIME_LIMIT
    return (
        Q(status=ImportJob.Status.CHECKING, created_at__gt=limit)
        | Q(status=ImportJob.Status.CHECKED, checked_at__gt=now - ImportJob.CONFIRM_WITHIN)
        | Q(status=ImportJob.Status.IMPORTING, import_started_at__gt=limit)
        | Q(
            status=ImportJob.Status.IMPORTING,
            import_started_at__isnull=True,
            confirmed_at__gt=limit,
        )
    )


class ImportJob(models.Model):
    """One import of the ERP's files from the finance desk: its files (stored privately
    under MEDIA_ROOT/imports/<id>/), the check that reports every bad row before anything
    is written, and the import the user confirms after a clean check.

    The row holds the durable state; the rows done while a check or an import runs are in
    the cache (`receivables.importing.jobs`), because the import writes in one long
    transaction that nobody else can read into. One import at a time: the partial unique
    constraint lets one job of the whole table be active (checking, checked or importing),
    so two uploads at the same moment cannot both start. Written only by
    `receivables.importing.jobs`.
    """

    class Status(models.TextChoices):
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked, awaiting confirmation")
        CHECK_FAILED = "check_failed", _("Check found errors")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        DISCARDED = "discarded", _("Discarded")
        EXPIRED = "expired", _("Not confirmed in time")

    ACTIVE = (Status.CHECKING, Status.CHECKED, Status.IMPORTING)
    # A clean check waits this long for its confirmation, then stops blocking others.
    CONFIRM_WITHIN = dt.timedelta(hours=1)
    # The check's and the import's Celery time limit (receivables/tasks.py): a job still
    # "running" after it has crashed, and counts as failed. Two million rows take about
    # half an hour to import (docs/BENCHMARKS.md); a check takes as long.
    TIME_LIMIT = dt.timedelta(hours=2)
    # Bad rows kept for the page (all of them are counted): enough to fix a file by, and
    # a row that stays small when every line of a large file is wrong.
    MAX_STORED_ERRORS = 10_000

    # The same for every job: what the one-active-job constraint is unique on.
    slot = models.CharField(max_length=10, default="ledger", editable=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.CHECKING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    # [{"kind": "orders", "name": "orders.csv", "path": "imports/7/orders/orders.csv",
    #   "rows": 1200}] in the order they are imported; rows counted when stored.
    files = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    checked_at = models.DateTimeField(null=True, blank=True)
    # What the check found would change, per file: [{"kind", "file", "read", "created",
    # "updated", "unchanged"}], and the bad rows: [{"file", "line", "column", "message"}],
    # at most `MAX_STORED_ERRORS` of `error_count`.
    check_files = models.JSONField(default=list)
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Set by the task that claims the import, so that a message delivered twice imports once.
    import_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # What the import changed, as `check_files`, and the allocations it wrote.
    result_files = models.JSONField(default=list)
    reallocated = models.PositiveIntegerField(null=True, blank=True)
    failure = models.TextField(blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status__in=["checking", "checked", "importing"]),
                name="importjob_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.status})"

    def stale_on(self, now: dt.datetime) -> bool:
        """Active by its status but past its time: a crashed check or import, or a clean
        check nobody confirmed within the hour. It no longer blocks another import."""
        if self.status == self.Status.CHECKING:
            return self.created_at <= now - self.TIME_LIMIT
        if self.status == self.Status.CHECKED:
            return self.checked_at is not None and self.checked_at <= now - self.CONFIRM_WITHIN
        if self.status == self.Status.IMPORTING:
            started = self.import_started_at or self.confirmed_at or self.created_at
            return started <= now - self.TIME_LIMIT
        return False

    def status_on(self, now: dt.datetime) -> str:
        """The status as it stands at `now`: a stale job shows as what it has become
        (failed, or not confirmed in time) before anybody writes it down."""
        if not self.stale_on(now):
            return self.status
        if self.status == self.Status.CHECKED:
            return self.Status.EXPIRED
        return self.Status.FAILED

    def blocks_on(self, now: dt.datetime) -> bool:
        return self.status in self.ACTIVE and not self.stale_on(now)

    def confirm_by(self, now: dt.datetime) -> dt.datetime | None:
        """Until when a clean check may be confirmed."""
        if self.checked_at is None:
            return None
        return self.checked_at + self.CONFIRM_WITHIN


class UserPreference(models.Model):
    """What a user chose for themselves, kept on the server so it follows them to another
    browser: the interface language (chosen in the header's language menu, put back in
    the language cookie at login by `config/language.py`)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} · {self.language}"

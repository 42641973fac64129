"""What a collection agency sees of the accounts placed with it, as set-based queries: its
worklist, what its own users logged on a dealer, and its commission.

An agency sees nothing internal (risk class, priority, assessment, escalations, the
collectors' contacts and promises): every query here names the columns it reads, and
the contacts and promises are those made by the agency's own users. A dealer is placed
with an agency exactly while its account is in the `agency` stage
(`dunning.services.stages.end_placement`), so the worklist reads `Dealer.agency`; the
commission reads the stage history, because it counts money received while placed,
also for placements that have ended since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth

from dunning.models import ContactLog, Promise, Stage, StageChange
from receivables.models import MONEY_FIELD, ZERO, Agency, Dealer, DealerQuerySet, Payment
from receivables.roles import Role, role_of
from receivables.validation import CENT

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# The worklist's orders: the key in the URL, and the database ordering it means.
SORTS: dict[str, list[Any]] = {
    "overdue": [F("overdue").desc(), "code"],
    "oldest": [F("oldest_due_on").asc(nulls_last=True), "code"],
    "name": ["name", "code"],
}
DEFAULT_SORT = "overdue"


def agency_of(user: User | AnonymousUser) -> Agency | None:
    """The agency an agency user works for (the first by name, should a user belong to
    several), or None for any other role and for an agency user of no agency."""
    if role_of(user) != Role.AGENCY:
        return None
    return Agency.objects.filter(users=user.pk).order_by("name").first()


def _placed_since() -> Subquery:
    """The day the dealer's account last moved into `agency` (correlated on its pk)."""
    return Subquery(
        StageChange.objects.filter(dealer=OuterRef("pk"), to_stage=Stage.AGENCY)
        .order_by("-on", "-at", "-id")
        .values("on")[:1],
        output_field=DateField(),
    )


def placed_dealers(
    user: User, agency: Agency, *, today: dt.date, search: str = "", sort: str = DEFAULT_SORT
) -> DealerQuerySet:
    """The dealers placed with `agency` that `user` sees, with their kept balance and
    overdue (the dealer's currency), oldest overdue due date, `placed_since`, the
    agency's `last_contact_at`, and its next open promise (`promise_due_on`,
    `promise_amount`); searched by code, name or city and sorted in the database.
    One query per page whatever the number of dealers (the subqueries are correlated and
    served by the (dealer, -at) and (dealer, status, due_on) indexes)."""
    dealers = Dealer.objects.visible_to(user).filter(agency=agency)
    search = search.strip()
    if search:
        dealers = dealers.filter(
            Q(code__icontains=search) | Q(name__icontains=search) | Q(city__icontains=search)
        )
    agency_contacts = ContactLog.objects.filter(
        dealer=OuterRef("pk"), logged_by__agencies=agency
    ).order_by("-at", "-id")
    agency_promises = Promise.objects.filter(
        dealer=OuterRef("pk"), made_by__agencies=agency, status=Promise.Status.OPEN
    ).order_by("due_on", "id")
    return (
        dealers.with_balance(today)
        .annotate(
            placed_since=_placed_since(),
            last_contact_at=Subquery(agency_contacts.values("at")[:1]),
            promise_due_on=Subquery(agency_promises.values("due_on")[:1]),
            promise_amount=Subquery(agency_promises.values("amount")[:1], output_field=MONEY_FIELD),
        )
        .only("code", "name", "city", "country", "currency")
        .order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))
    )


def placement_of(dealer: Dealer) -> dt.date | None:
    """The day the dealer's account last moved into `agency`, or None."""
    return (
        StageChange.objects.filter(dealer=dealer, to_stage=Stage.AGENCY)
        .order_by("-on", "-at", "-id")
        .values_list("on", flat=True)
        .first()
    )


def agency_contacts(dealer: Dealer, agency: Agency) -> QuerySet[ContactLog]:
    """The contacts with the dealer logged by the agency's own users, newest first."""
    return (
        ContactLog.objects.filter(dealer=dealer, logged_by__agencies=agency)
        .select_related("person", "logged_by")
        .order_by("-at", "-id")
    )


def agency_promises(dealer: Dealer, agency: Agency) -> QuerySet[Promise]:
    """The promises the dealer made to the agency's own users, newest first."""
    return (
        Promise.objects.filter(dealer=dealer, made_by__agencies=agency)
        .select_related("made_by")
        .order_by("-made_on", "-id")
    )


def received_while_placed(agency: Agency) -> QuerySet[Payment]:
    """The payments received from dealers while their accounts were placed with `agency`:
    on or after the day of a move into `agency` for this agency, and before the day the
    account next left that stage. A placement is the agency's when the escalation that
    made it names the agency, or, for a move recorded without one, when the dealer is
    placed with the agency now."""
    agencys = Q(escalation__agency=agency) | Q(
        escalation__agency__isnull=True, dealer__agency=agency
    )
    left = StageChange.objects.filter(
        dealer=OuterRef(OuterRef("dealer")),
        from_stage=Stage.AGENCY,
        # Recorded after the placement (ids grow with every move; two moves may share
        # a business date and even a timestamp).
        id__gt=OuterRef("id"),
        on__lte=OuterRef(OuterRef("received_on")),
    )
    placements = (
        StageChange.objects.filter(
            dealer=OuterRef("dealer"),
            to_stage=Stage.AGENCY,
            on__lte=OuterRef("received_on"),
        )
        .filter(agencys)
        .filter(~Exists(left))
    )
    # Only the payments of dealers ever placed with the agency are looked at (through
    # the payments' (dealer, received_on) index), never the whole book's.
    ever_placed = StageChange.objects.filter(agencys, to_stage=Stage.AGENCY).values("dealer_id")
    return Payment.objects.filter(dealer_id__in=ever_placed).filter(Exists(placements))


@dataclass(frozen=True)
class CommissionLine:
    """Money received in one month (or in total) in one currency, and the commission."""

    month: dt.date | None
    currency: str
    payments: int
    received: Decimal
    commission: Decimal


def commission_of(received: Decimal, percent: Decimal) -> Decimal:
    """The agency's share of `received`, to the cent."""
    return (received * percent / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)


def commission_months(agency: Agency) -> list[CommissionLine]:
    """Money received while placed and the commission on it, by month and currency,
    newest month first: one grouped query (a few rows a month, one per currency)."""
    rows = (
        received_while_placed(agency)
        .annotate(month=TruncMonth("received_on"), currency=F("dealer__currency"))
        .values("month", "currency")
        .annotate(received=Sum("amount"), payments=Count("pk"))
        .order_by("-month", "currency")
    )
    return [_line(row, agency) for row in rows]


def _line(row: dict[str, Any], agency: Agency) -> CommissionLine:
    received = row["received"] or ZERO
    month = row.get("month")
    if isinstance(month, dt.datetime):
        month = month.date()
    return CommissionLine(
        month=month,
        currency=row["currency"],
        payments=row["payments"],
        received=received,
        commission=commission_of(received, agency.commission_percent),
    )


def commission_totals(months: list[CommissionLine], agency: Agency) -> list[CommissionLine]:
    """The totals so far of the monthly lines, one per currency (never added across
    currencies); the commission is the agency's share of each currency's total."""
    received: dict[str, Decimal] = {}
    payments: dict[str, int] = {}
    for line in months:
        received[line.currency] = received.get(line.currency, ZERO) + line.received
        payments[line.currency] = payments.get(line.currency, 0) + line.payments
    return [
        _line(
            {"month": None, "currency": c, "received": received[c], "payments": payments[c]},
            agency,
        )
        for c in sorted(received)
    ]


__all__ = [
    "DEFAULT_SORT",
    "SORTS",
    "CommissionLine",
    "agency_contacts",
    "agency_of",
    "agency_promises",
    "commission_months",
    "commission_of",
    "commission_totals",
    "placed_dealers",
    "placement_of",
    "received_while_placed",
]

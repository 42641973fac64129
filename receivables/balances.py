"""The one writer of `DealerBalance`, each dealer's kept balance, overdue amount and oldest
overdue due date (docs/ARCHITECTURE.md, "Kept figures").

A kept row is a cache of `DealerQuerySet.with_derived_balance`: readers go through
`DealerQuerySet.with_balance`, which takes the row while it is fresh for the day asked
and derives the figures from the open orders otherwise, so a row that is missing or
stale costs time, never a wrong figure. Two callers keep the rows fresh:

- the allocation rule (`receivables.allocation.reallocate_dealers`), for every dealer
  whose orders or payments it replays, in the same transaction: every write to the
  ledger (services, API, import, demo data, the sweep's interest charges) goes through it;
- the daily sweep (`refresh_stale`), for the rows whose day has passed: an order fell
  past due, or an order or payment dated later has taken effect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery

from receivables.models import Dealer, DealerBalance, DealerQuerySet, Order, Payment

# Dealers per refresh transaction: well under SQLite's limit of query parameters.
CHUNK = 900
FIELDS = ["as_of", "balance", "overdue", "oldest_due_on", "changes_on"]


def refresh(dealer_ids: Iterable[int], *, on: dt.date) -> int:
    """Store the figures of these dealers as of the end of `on`. Returns the rows written."""
    ids = sorted(set(dealer_ids))
    written = 0
    for start in range(0, len(ids), CHUNK):
        written += _refresh_chunk(ids[start : start + CHUNK], on)
    return written


def refresh_stale(on: dt.date, dealers: DealerQuerySet | None = None) -> int:
    """Refresh every dealer (of `dealers`, all by default) whose kept row is missing or
    no longer holds on `on`."""
    dealers = Dealer.objects.all() if dealers is None else dealers
    stale = dealers.exclude(DealerBalance.holds_on(on)).values_list("pk", flat=True)
    return refresh(list(stale), on=on)


@transaction.atomic
def _refresh_chunk(ids: list[int], on: dt.date) -> int:
    # The dealers are locked first (in a fixed order, against deadlocks): a ledger write
    # in flight for one of them commits before its figures are read, and one that starts
    # later waits, then stores figures that include its own change.
    list(Dealer.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    open_orders = Order.objects.filter(dealer=OuterRef("pk")).not_settled_on(on).open_on(on)
    # The first day each figure could change with no write: the next open order to fall
    # past due (the day after its due date), the next order or payment dated later.
    next_due = open_orders.filter(due_on__gte=on).order_by("due_on").values("due_on")[:1]
    next_order = (
        Order.objects.filter(dealer=OuterRef("pk"), due_on__gt=on, ordered_on__gt=on)
        .order_by("ordered_on")
        .values("ordered_on")[:1]
    )
    next_payment = (
        Payment.objects.filter(dealer=OuterRef("pk"), received_on__gt=on)
        .order_by("received_on")
        .values("received_on")[:1]
    )
    rows = (
        Dealer.objects.filter(pk__in=ids)
        .with_derived_balance(on)
        .annotate(
            next_due=Subquery(next_due),
            next_order=Subquery(next_order),
            next_payment=Subquery(next_payment),
        )
        .values(
            "pk", "balance", "overdue", "oldest_due_on", "next_due", "next_order", "next_payment"
        )
    )
    kept = []
    for row in rows:
        changes = [row["next_order"], row["next_payment"]]
        if row["next_due"] is not None:
            changes.append(row["next_due"] + dt.timedelta(days=1))
        kept.append(
            DealerBalance(
                dealer_id=row["pk"],
                as_of=on,
                balance=row["balance"],
                overdue=row["overdue"],
                oldest_due_on=row["oldest_due_on"],
                changes_on=min((day for day in changes if day is not None), default=None),
            )
        )
    DealerBalance.objects.bulk_create(
        kept, update_conflicts=True, unique_fields=["dealer"], update_fields=FIELDS
    )
    return len(kept)

"""The one writer of `DealerBalance`, each dealer's kept balance, overdue amount and oldest
overdue due date as of business today (docs/ARCHITECTURE.md, "Kept figures").

A kept row is a cache of `DealerQuerySet.with_derived_balance`, always written as of
business today, with the first later day on which it stops holding (`changes_on`).
It is written:

- by the allocation rule (`receivables.allocation.reallocate_dealers`), for every dealer
  whose orders or payments it replays, in the same transaction: every write to the
  ledger (services, API, import, admin correction, demo data, the sweep's interest)
  goes through it;
- by `refresh_stale`, for the rows missing or no longer holding today: the daily sweep
  calls it for its dealers, and `DealerQuerySet.with_balance` for the dealers it reads,
  before reading them (a read-through cache: the first reader of a new day pays for the
  rows whose orders fell past due overnight, if the sweep has not run yet).

The dealers are locked before their figures are read, so a refresh and a ledger write
for the same dealer never interleave (see `_refresh_chunk`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery

from receivables.dates import business_today
from receivables.models import Dealer, DealerBalance, DealerQuerySet, Order, Payment

# Dealers per refresh transaction: well under SQLite's limit of query parameters.
CHUNK = 900
FIELDS = ["as_of", "balance", "overdue", "oldest_due_on", "changes_on"]


def refresh(dealer_ids: Iterable[int]) -> int:
    """Store the figures of these dealers as of business today. Returns the rows written."""
    return _refresh(sorted(set(dealer_ids)), only_stale=False)


def refresh_stale(dealers: DealerQuerySet | None = None) -> int:
    """Refresh the dealers (of `dealers`, every one by default) whose kept row is missing
    or no longer holds today. Returns the rows written."""
    dealers = Dealer.objects.all() if dealers is None else dealers
    stale = dealers.exclude(DealerBalance.holds_on(business_today()))
    return _refresh(list(stale.order_by("pk").values_list("pk", flat=True)), only_stale=True)


def _refresh(ids: list[int], *, only_stale: bool) -> int:
    on = business_today()
    written = 0
    for start in range(0, len(ids), CHUNK):
        written += _refresh_chunk(ids[start : start + CHUNK], on, only_stale=only_stale)
    return written


@transaction.atomic
def _refresh_chunk(ids: list[int], on: dt.date, *, only_stale: bool) -> int:
    # The dealers are locked first (in a fixed order, against deadlocks): a ledger write
    # in flight for one of them commits before its figures are read, and one that starts
    # later waits, then stores figures that include its own change. Two readers
    # refreshing the same rows: the second finds them holding once it has the locks.
    locked = Dealer.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
    if only_stale:
        locked = locked.exclude(DealerBalance.holds_on(on))
    ids = list(locked.values_list("pk", flat=True))
    if not ids:
        return 0
    open_orders = Order.objects.filter(dealer=OuterRef("pk")).open_at(on)
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

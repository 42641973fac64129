"""Workflow figures for the KPI report: what the ledger's KPIs (`receivables.reports`)
cannot know, because they depend on the collection workflow's tables."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q

from dunning.models import BROKEN_STATUSES, Promise
from receivables.models import DealerQuerySet
from receivables.reports import two_places


def broken_promise_rate(
    *, start: dt.date, end: dt.date, dealers: DealerQuerySet | None = None
) -> Decimal | None:
    """Share (percent) of the promises due in [start, end] and decided by the sweep that
    were broken (partly kept counts as broken for the rest); None when none was decided."""
    promises = Promise.objects.decided().filter(due_on__gte=start, due_on__lte=end)
    if dealers is not None:
        promises = promises.filter(dealer__in=dealers)
    row = promises.aggregate(
        decided=Count("pk"), broken=Count("pk", filter=Q(status__in=BROKEN_STATUSES))
    )
    if not row["decided"]:
        return None
    return two_places(Decimal(row["broken"]) * 100 / row["decided"])

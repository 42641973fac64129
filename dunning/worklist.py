"""The collector's morning worklist ("Prioritise", docs/PRACTICE.md §6; "Timing", docs/PRACTICE.md
§9): the visible dealers with something overdue, ordered by the priority score, each with why it is
where it is, whether it may be called now (and if not, from when and by which rule), the suggested
window, the promises falling due today and the open follow-up tasks.

The cost is a fixed number of queries whatever the number of dealers: the candidates
counted per currency (the total, and the currencies to check for a missing exchange
rate), the page of them sorted by priority in SQL (`figures.with_facts`), then one each
for the recent calls, today's promises and the open tasks of the dealers on the page shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q

from dunning.calendar import (
    CallPermission,
    dealer_zone,
    suggested_window,
)
from dunning.figures import DealerFacts, Priority, facts_from_row, with_facts
from dunning.models import CollectionPolicy, Promise, RiskClass, Stage, Task
from dunning.services.contacts import call_permission_for, calls_up_to
from receivables.models import Dealer, DealerQuerySet
from receivables.rates import rates_on

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ROWS_PER_PAGE = 25


@dataclass
class WorklistRow:
    dealer: Dealer
    facts: DealerFacts
    risk: RiskClass
    priority: Priority
    call: CallPermission | None = None
    call_zone: str = ""
    promises_today: list[Promise] = field(default_factory=list)
    open_tasks: list[Task] = field(default_factory=list)

    @property
    def stage_label(self) -> str:
        return Stage(self.facts.stage).label

    @property
    def risk_label(self) -> str:
        return RiskClass(self.risk).label

    @property
    def priority_parts(self) -> list[tuple[str, Decimal]]:
        """The parts that add up to the score, largest first, without the zeros."""
        parts = [(name, points) for name, points in self.priority.parts.items() if points]
        return sorted(parts, key=lambda part: part[1], reverse=True)

    @property
    def call_text(self) -> str:
        """ "Call now", or "not before Tue 08:00 (at most 1 call a day)" in the dealer's time."""
        if self.call is None or self.call.allowed:
            return "Call now"
        if self.call.next_allowed_at is None:
            return f"Do not call ({self.call.rule})"
        return f"not before {self.call.next_allowed_at:%a %H:%M} ({self.call.rule})"


@dataclass
class Worklist:
    page: Page
    rows: list[WorklistRow]
    window: tuple[dt.time, dt.time]
    total: int
    # Currencies whose amounts could not be compared for want of an exchange rate.
    missing_rates: list[str] = field(default_factory=list)
    reporting_currency: str = ""


def overdue_dealers(
    user: User | AnonymousUser, *, collector_id: int | None = None
) -> DealerQuerySet:
    """The dealers the worklist starts from: those the user sees, optionally one
    collector's portfolio (for managers and others who see more than their own)."""
    dealers = Dealer.objects.visible_to(user)
    if collector_id is not None:
        dealers = dealers.filter(collector_id=collector_id)
    return dealers


def build_worklist(
    user: User | AnonymousUser,
    *,
    today: dt.date,
    now: dt.datetime,
    collector_id: int | None = None,
    page_number: str | int | None = 1,
    per_page: int = ROWS_PER_PAGE,
    policy: CollectionPolicy | None = None,
) -> Worklist:
    """The prioritised worklist of `user` on `today`, one page of it enriched. The order
    by priority, the count and the page are computed in the database (`with_facts`)."""
    policy = policy or CollectionPolicy.current()
    candidates = (
        with_facts(overdue_dealers(user, collector_id=collector_id), today=today, policy=policy)
        .filter(Q(overdue__gt=0))
        .select_related("collector")
        # Highest score first; ties go to the larger amount (in the reporting currency),
        # then the code, so the order is stable from one page to the next.
        .order_by(
            F("priority_score").desc(),
            F("overdue_in_reporting").desc(nulls_last=True),
            "code",
        )
    )
    # One query counts the candidates per currency: the total for the paginator, and
    # the currencies to check for a missing rate (their amounts are not scored).
    per_currency = dict(
        candidates.order_by()
        .values_list("currency")
        .annotate(n=Count("pk"))
        .values_list("currency", "n")
    )
    paginator = Paginator(candidates, per_page)
    paginator.__dict__["count"] = sum(per_currency.values())  # its cached `count`
    page = paginator.get_page(page_number)
    page_rows = [_row(dealer, today) for dealer in page.object_list]
    _add_call_permissions(page_rows, policy=policy, now=now)
    _add_promises_and_tasks(page_rows, today=today)
    currencies = list(per_currency)
    rates = rates_on(today, currencies)
    return Worklist(
        page=page,
        rows=page_rows,
        window=suggested_window(policy),
        total=page.paginator.count,
        missing_rates=rates.missing(currencies),
        reporting_currency=rates.reporting,
    )


def _row(dealer: Dealer, today: dt.date) -> WorklistRow:
    facts = facts_from_row(dealer, today)
    assert facts.risk is not None and facts.priority is not None  # computed by with_facts
    return WorklistRow(dealer=dealer, facts=facts, risk=facts.risk, priority=facts.priority)


def _add_call_permissions(
    rows: list[WorklistRow], *, policy: CollectionPolicy, now: dt.datetime
) -> None:
    if not rows:
        return
    calls = calls_up_to([row.dealer.pk for row in rows], at=now)
    for row in rows:
        row.call = call_permission_for(
            row.dealer, policy=policy, at=now, calls=calls[row.dealer.pk]
        )
        row.call_zone = str(dealer_zone(row.dealer.country, row.dealer.time_zone))


def _add_promises_and_tasks(rows: list[WorklistRow], *, today: dt.date) -> None:
    if not rows:
        return
    by_id = {row.dealer.pk: row for row in rows}
    for promise in Promise.objects.filter(
        dealer_id__in=list(by_id), status=Promise.Status.OPEN, due_on=today
    ).order_by("id"):
        by_id[promise.dealer_id].promises_today.append(promise)
    for task in Task.objects.filter(dealer_id__in=list(by_id), done_at__isnull=True).order_by(
        "due_on", "window_from", "id"
    ):
        by_id[task.dealer_id].open_tasks.append(task)

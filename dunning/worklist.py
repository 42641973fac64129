"""The collector's morning worklist ("Prioritise", docs/PRACTICE.md §6; "Timing", docs/PRACTICE.md
§9): the visible dealers with something overdue, ordered by the priority score, each with why it is
where it is, whether it may be called now (and if not, from when and by which rule), the suggested
window, whether today is a good day to call it (month-end, or it has probably sold most of its
last delivery: `dunning.calendar.call_day`), the promises falling due today and the open
follow-up tasks.

Dealers with lawyers, an agency or written off (`NOT_CALLED_STAGES`) are not offered for
calls: they are the other list, `build_out_of_calls`, with their stage, since when, the
agency and the amount open.

The good-day reasons are advice shown beside the row: they add nothing to the priority
score, which stays the score of "Prioritise" (docs/PRACTICE.md §6) on every page.

The cost is a fixed number of queries whatever the number of dealers: the candidates
counted per currency (the total, and the currencies to check for a missing exchange
rate), the page of them sorted by priority in SQL (`figures.with_facts`), then one each
for the recent calls, today's promises, the open tasks and the order days of the last
`RHYTHM_DAYS` (their rhythm of reorders) of the dealers on the page shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q

from dunning.calendar import (
    CallDay,
    CallPermission,
    call_day,
    dealer_zone,
    reorder_rhythm,
    suggested_window,
)
from dunning.figures import DealerFacts, Priority, facts_from_row, with_facts
from dunning.models import CollectionPolicy, Promise, RiskClass, Stage, Task
from dunning.models.stages import NOT_CALLED_STAGES
from dunning.services.contacts import call_permission_for, calls_up_to
from receivables.models import Dealer, DealerQuerySet, Order
from receivables.rates import rates_on

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ROWS_PER_PAGE = 25
# The worklist's `list` parameter naming the other list.
OUT_OF_CALLS = "out_of_calls"
# The orders a dealer's rhythm of reorders is read from: those of the last year.
RHYTHM_DAYS = 365


@dataclass
class WorklistRow:
    dealer: Dealer
    facts: DealerFacts
    risk: RiskClass
    priority: Priority
    call: CallPermission | None = None
    call_zone: str = ""
    call_day: CallDay = field(default_factory=CallDay)
    promises_today: list[Promise] = field(default_factory=list)
    open_tasks: list[Task] = field(default_factory=list)

    @property
    def stage_label(self) -> str:
        return str(Stage(self.facts.stage).label)

    @property
    def risk_label(self) -> str:
        return str(RiskClass(self.risk).label)

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
        .exclude(account__stage__in=NOT_CALLED_STAGES)
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
    _add_call_days(page_rows, today=today)
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


def _add_call_days(rows: list[WorklistRow], *, today: dt.date) -> None:
    """Whether today is a good day to call each dealer of the page: one query reads the
    days its sales orders of the last `RHYTHM_DAYS` were placed on (interest charges are
    no delivery); the rule is `dunning.calendar.call_day`."""
    if not rows:
        return
    days: dict[int, set[dt.date]] = {row.dealer.pk: set() for row in rows}
    for dealer_id, ordered_on in (
        Order.objects.filter(
            dealer_id__in=list(days),
            kind=Order.Kind.SALE,
            ordered_on__gt=today - dt.timedelta(days=RHYTHM_DAYS),
            ordered_on__lte=today,
        )
        .values_list("dealer_id", "ordered_on")
        .distinct()
    ):
        days[dealer_id].add(ordered_on)
    for row in rows:
        rhythm = reorder_rhythm(days[row.dealer.pk])
        row.call_day = call_day(row.dealer.country, today, rhythm)


# The other list: dealers nobody calls


@dataclass
class OutOfCallsRow:
    dealer: Dealer
    stage: str
    stage_since: dt.date | None
    balance: Decimal

    @property
    def stage_label(self) -> str:
        return str(Stage(self.stage).label)


@dataclass
class OutOfCalls:
    page: Page
    rows: list[OutOfCallsRow]
    total: int


def build_out_of_calls(
    user: User | AnonymousUser,
    *,
    today: dt.date,
    collector_id: int | None = None,
    page_number: str | int | None = 1,
    per_page: int = ROWS_PER_PAGE,
) -> OutOfCalls:
    """The visible dealers with lawyers, an agency or written off (`NOT_CALLED_STAGES`),
    latest move first, one page of them: their stage, since when, the agency and the
    balance open today (kept figures, `with_balance`). Two queries: the count and the
    page."""
    dealers = (
        overdue_dealers(user, collector_id=collector_id)
        .filter(account__stage__in=NOT_CALLED_STAGES)
        .with_balance(today)
        .annotate(stage_value=F("account__stage"), since=F("account__stage_since"))
        .select_related("agency", "collector")
        .order_by(F("since").desc(nulls_last=True), "code")
    )
    page = Paginator(dealers, per_page).get_page(page_number)
    rows = [
        OutOfCallsRow(
            dealer=dealer,
            stage=dealer.stage_value,
            stage_since=dealer.since,
            balance=dealer.balance,
        )
        for dealer in page.object_list
    ]
    return OutOfCalls(page=page, rows=rows, total=page.paginator.count)

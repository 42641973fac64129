"""Workflow figures for the reports (docs/API.md "Reports"): what the ledger's reports
(`receivables.reports`) cannot know, because they depend on the collection workflow's
tables: the broken-promise rate of the KPIs, the bad-debt allowance by risk class and
the forecast of receipts from open promises.

Like the ledger's reports, every amount across dealers is summed per currency in SQL,
then one currency is chosen or every one converted to the reporting currency at one
day's rates (`receivables.rates`); a missing rate raises `MissingRate`, naming the
currency. The allowance and the forecast come in two steps, so that a page showing them
(the team desk, `dunning.desk`) can convert the same rows both ways without asking the
database twice: `book_by_class` / `forecast_rows` ask SQL, `allowance_from_rows` /
`forecast_from_rows` choose or convert.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum

from dunning.figures import with_facts
from dunning.models import BROKEN_STATUSES, CollectionPolicy, Promise, RiskClass
from dunning.models.promises import DEALER_RELIABILITY
from receivables.models import ZERO, Dealer, DealerQuerySet, money_sum
from receivables.rates import rates_on
from receivables.reports import two_places

HUNDRED = Decimal(100)
# The forecast lists at most this many ISO weeks (a year and a bit): longer asks are
# refused rather than answered slowly.
FORECAST_MAX_WEEKS = 53
# The weeks the forecast lists when no end is asked for (and the team desk shows).
FORECAST_DEFAULT_WEEKS = 8
# The share of a promise counted as expected when neither its dealer nor any dealer of
# the report has a decided promise in the last twelve months: a coin toss.
RELIABILITY_WITHOUT_HISTORY = Decimal("0.5")


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


def _chooser(
    currencies: Iterable[str], *, currency: str | None, on: dt.date
) -> tuple[str, Callable[[Decimal, str], Decimal]]:
    """(the currency of the answer, how an amount of a currency becomes one in it): the
    amount itself when `currency` is asked for (the caller keeps only its rows),
    otherwise converted at the rates of `on` (one query; `MissingRate` on first use of a
    currency without a rate)."""
    if currency is not None:
        return currency, lambda amount, _code: amount
    rates = rates_on(on, currencies)
    return rates.reporting, rates.to_reporting


# The bad-debt allowance ------------------------------------------------------------------


@dataclass(frozen=True)
class ClassRow:
    """The dealers owing something (an open balance) of one currency and one risk class,
    and of one stage when grouped by stage (`stage` is "" otherwise)."""

    currency: str
    risk_class: RiskClass
    stage: str
    dealers: int
    balance: Decimal
    overdue: Decimal


def book_by_class(
    dealers: DealerQuerySet, *, today: dt.date, policy: CollectionPolicy, by_stage: bool = False
) -> list[ClassRow]:
    """The open balance and the overdue amount of `dealers` on `today` per currency and
    risk class (and stage), in ONE grouped query over every dealer's facts
    (`dunning.figures.with_facts`: the risk class as the worklist computes it). Only the
    dealers with an open balance are counted; the others add nothing to any amount."""
    groups = ["currency", "risk_rank", *(["current_stage"] if by_stage else [])]
    rows = (
        with_facts(dealers, today=today, policy=policy)
        .filter(Q(balance__gt=0))
        .values(*groups)
        .annotate(
            n=Count("pk"), open_total=money_sum("balance"), overdue_total=money_sum("overdue")
        )
        .order_by()
    )
    classes = list(RiskClass)
    return [
        ClassRow(
            currency=row["currency"],
            risk_class=classes[row["risk_rank"]],
            stage=row.get("current_stage", ""),
            dealers=row["n"],
            balance=row["open_total"],
            overdue=row["overdue_total"],
        )
        for row in rows
    ]


def allowance_report(
    *,
    as_of: dt.date,
    dealers: DealerQuerySet | None = None,
    currency: str | None = None,
    policy: CollectionPolicy | None = None,
) -> dict:
    """The bad-debt allowance on `as_of` by risk class (docs/API.md "Allowance") of
    `dealers` (every dealer when None): that currency's dealers alone with `currency`,
    otherwise every balance converted to the reporting currency at the rates of
    `as_of`. Raises `MissingRate`."""
    policy = policy or CollectionPolicy.current()
    found = Dealer.objects.all() if dealers is None else dealers
    if currency is not None:
        found = found.filter(currency=currency)
    rows = book_by_class(found, today=as_of, policy=policy)
    return allowance_from_rows(rows, on=as_of, policy=policy, currency=currency)


def allowance_from_rows(
    rows: Iterable[ClassRow], *, on: dt.date, policy: CollectionPolicy, currency: str | None
) -> dict:
    """The allowance from `book_by_class` rows: per class, the dealers, the open amount
    (per currency, converted at the rates of `on` unless `currency` is asked for, whose
    rows alone count), the policy's rate and the allowance, `open_amount * rate / 100`
    rounded half up to cents; every class of `RiskClass` listed in its order."""
    chosen = [row for row in rows if currency is None or row.currency == currency]
    # Exact sums per currency and class first (rows may be split by stage), so that each
    # is converted, and rounded, once.
    sums: dict[tuple[str, RiskClass], Decimal] = {}
    counts = dict.fromkeys(RiskClass, 0)
    for row in chosen:
        key = (row.currency, row.risk_class)
        sums[key] = sums.get(key, ZERO) + row.balance
        counts[row.risk_class] += row.dealers
    named, convert = _chooser({code for code, _risk in sums}, currency=currency, on=on)
    open_amounts = dict.fromkeys(RiskClass, ZERO)
    for (code, risk), amount in sorted(sums.items()):
        open_amounts[risk] += convert(amount, code)
    classes: list[dict[str, Any]] = []
    for risk in RiskClass:
        rate = policy.allowance_percent(risk.value)
        open_amount = two_places(open_amounts[risk])
        classes.append(
            {
                "risk_class": risk.value,
                "count": counts[risk],
                "open_amount": open_amount,
                "rate_percent": two_places(rate),
                "allowance": two_places(open_amount * rate / HUNDRED),
            }
        )
    return {
        "as_of": on,
        "currency": named,
        "classes": classes,
        "total": {
            "count": sum(c["count"] for c in classes),
            "open_amount": sum((c["open_amount"] for c in classes), ZERO),
            "allowance": sum((c["allowance"] for c in classes), ZERO),
        },
    }


# The forecast of receipts ----------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """An ISO week as the forecast lists it: its key ("2026-W10") and its days within the
    range asked for (the first and last weeks may be cut)."""

    key: str
    start: dt.date
    end: dt.date


def iso_weeks(start: dt.date, end: dt.date) -> list[Week]:
    """Every ISO week touching [start, end], in order, each cut to the range."""
    weeks = []
    monday = start - dt.timedelta(days=start.weekday())
    while monday <= end:
        year, number, _day = monday.isocalendar()
        sunday = monday + dt.timedelta(days=6)
        weeks.append(Week(f"{year}-W{number:02d}", max(monday, start), min(sunday, end)))
        monday += dt.timedelta(days=7)
    return weeks


def week_count(start: dt.date, end: dt.date) -> int:
    """How many ISO weeks [start, end] touches (`len(iso_weeks(start, end))`), counted
    without listing them: a range of centuries is refused at once."""
    first = start - dt.timedelta(days=start.weekday())
    last = end - dt.timedelta(days=end.weekday())
    return max(0, (last - first).days // 7 + 1)


def forecast_end(start: dt.date, weeks: int = FORECAST_DEFAULT_WEEKS) -> dt.date:
    """The Sunday ending the `weeks`-th ISO week from `start`'s own (its week is the
    first): the default end of the forecast."""
    return start - dt.timedelta(days=start.weekday()) + dt.timedelta(weeks=weeks, days=-1)


@dataclass(frozen=True)
class ForecastRows:
    """What the forecast sums in SQL: the open promises' amounts per currency and due
    day, each with the part expected from it (unrounded), and the share of a promise
    expected when its dealer has no record (`default_share`, between 0 and 1)."""

    start: dt.date
    end: dt.date
    weeks: list[Week]
    amounts: list[tuple[str, dt.date, Decimal, Decimal]]  # currency, due_on, promised, expected
    default_share: Decimal


def forecast_rows(
    *,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    dealers: DealerQuerySet | None = None,
    currency: str | None = None,
) -> ForecastRows:
    """The open promises (installments included) of `dealers` (every dealer when None;
    with `currency`, that currency's dealers alone) falling due in [start, end], in two
    queries: the default share, then the promises summed per currency, due day and
    dealer record, each dealer's record (kept and decided promises of the last twelve
    months up to `today`) computed in the same query. A dealer with no decided promise
    is counted at the share kept of every decided promise of `dealers` over the same
    months, or at `RELIABILITY_WITHOUT_HISTORY` when there is none at all."""
    if end < start:
        raise ValueError("The period ends before it starts.")
    if week_count(start, end) > FORECAST_MAX_WEEKS:
        raise ValueError(f"The period covers more than {FORECAST_MAX_WEEKS} weeks.")
    weeks = iso_weeks(start, end)
    promises = Promise.objects.filter(
        status=Promise.Status.OPEN, due_on__gte=start, due_on__lte=end
    )
    book = Promise.objects.all()
    if dealers is not None and dealers.query.has_filters():
        promises = promises.filter(dealer__in=dealers)
        book = book.filter(dealer__in=dealers)
    if currency is not None:
        promises = promises.filter(dealer__currency=currency)
    kept, decided = book.reliability_counts(today)
    default_share = Decimal(kept) / Decimal(decided) if decided else RELIABILITY_WITHOUT_HISTORY
    grouped = (
        promises.with_dealer_reliability(today)
        .values("due_on", *DEALER_RELIABILITY, currency=F("dealer__currency"))
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    amounts = []
    for row in grouped:
        amount = row["amount"]
        if row["dealer_decided"]:
            expected = amount * Decimal(row["dealer_kept"]) / Decimal(row["dealer_decided"])
        else:
            expected = amount * default_share
        amounts.append((row["currency"], row["due_on"], amount, expected))
    return ForecastRows(start, end, weeks, amounts, default_share)


def forecast_report(
    *,
    start: dt.date,
    end: dt.date,
    today: dt.date,
    dealers: DealerQuerySet | None = None,
    currency: str | None = None,
) -> dict:
    """Expected receipts by ISO week over [start, end] (docs/API.md "Forecast"): what the
    open promises of `dealers` promise, and what is expected of them given each dealer's
    record; in `currency` (its dealers alone) or converted to the reporting currency at
    the rates of `end`. Raises `ValueError` for a range backwards or too long,
    `MissingRate` for a currency without a rate."""
    rows = forecast_rows(start=start, end=end, today=today, dealers=dealers, currency=currency)
    return forecast_from_rows(rows, currency=currency)


def forecast_from_rows(rows: ForecastRows, *, currency: str | None) -> dict:
    """The forecast from `forecast_rows`: per week and currency the exact sums, each
    converted (at the rates of the range's last day) and rounded half up to cents once;
    every week listed, with zeros."""
    chosen = [row for row in rows.amounts if currency is None or row[0] == currency]
    week_of = {}
    for week in rows.weeks:
        day = week.start
        while day <= week.end:
            week_of[day] = week.key
            day += dt.timedelta(days=1)
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for code, due_on, promised, expected in chosen:
        pair = sums.setdefault((week_of[due_on], code), [ZERO, ZERO])
        pair[0] += promised
        pair[1] += expected
    named, convert = _chooser({code for _key, code in sums}, currency=currency, on=rows.end)
    totals = {week.key: [ZERO, ZERO] for week in rows.weeks}
    for (key, code), (promised, expected) in sorted(sums.items()):
        totals[key][0] += convert(promised, code)
        totals[key][1] += convert(expected, code)
    weeks: list[dict[str, Any]] = [
        {
            "week": week.key,
            "from": week.start,
            "to": week.end,
            "promised": two_places(totals[week.key][0]),
            "expected": two_places(totals[week.key][1]),
        }
        for week in rows.weeks
    ]
    return {
        "from": rows.start,
        "to": rows.end,
        "currency": named,
        "default_reliability_percent": two_places(rows.default_share * HUNDRED),
        "weeks": weeks,
        "total": {
            "promised": sum((week["promised"] for week in weeks), ZERO),
            "expected": sum((week["expected"] for week in weeks), ZERO),
        },
    }


__all__ = [
    "FORECAST_DEFAULT_WEEKS",
    "FORECAST_MAX_WEEKS",
    "ClassRow",
    "ForecastRows",
    "allowance_from_rows",
    "allowance_report",
    "book_by_class",
    "broken_promise_rate",
    "forecast_end",
    "forecast_from_rows",
    "forecast_report",
    "forecast_rows",
    "iso_weeks",
    "week_count",
]

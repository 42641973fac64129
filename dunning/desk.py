"""What the manager's team desk (`/desk/`) shows, gathered by one function so that the
page only renders it: the whole book's aging, twelve months of KPIs, the book by stage
and by risk class, each collector's load, the bad-debt allowance and the expected cash
of the coming weeks (`team_figures`), plus two short lists read live (`action_alerts`,
`active_overrides`).

Every figure comes from the report functions the API answers with (`receivables.reports`,
`dunning.reports`), never from a second formula, so the desk and the API agree to the
cent. They cost seconds on a large book (twelve months of KPIs alone), so the figures are
kept in the shared cache (`django.core.cache`) under the business date for at most
`DESK_FIGURES_SECONDS`: the Celery task `dunning.tasks.refresh_team_desk` recomputes them
in the background, a page that finds none computes and stores them, and a manager may
recompute them at once. They are plain values (dataclasses of dates, Decimals, strings),
picklable for any cache backend. The two lists are not cached: an alert acknowledged or
an override ended must leave the desk at once, and each costs two indexed queries.

The desk is for the roles that see the whole book (`sees_whole_book`): its figures are
the whole book's, which a collector or an agency may not see.

Money across currencies: each amount is kept per currency and, where every currency it
involves has a rate, converted to the reporting currency. A missing rate never fails the
desk: the currency is named (`missing_rates`) and the figures that needed it are shown
per currency instead.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext

from dunning.models import (
    Alert,
    CollectionAccount,
    CollectionPolicy,
    ContactLog,
    Promise,
    RiskClass,
    Stage,
)
from dunning.reports import (
    ClassRow,
    allowance_from_rows,
    book_by_class,
    broken_promise_rate,
    forecast_end,
    forecast_from_rows,
    forecast_rows,
)
from receivables.forms import BUCKET_LABELS
from receivables.models import ZERO, Dealer, Order, Payment, money_sum
from receivables.rates import MissingRate, Rates, rates_on
from receivables.reports import aging_report, kpi_report
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# How long the figures may be shown after they were computed (the Celery task
# recomputes them as often).
DESK_FIGURES_SECONDS = 300
# Bump when the shape of `TeamFigures` changes: figures pickled by the previous code
# are then never read back.
CACHE_VERSION = 1
KPI_MONTHS = 12
# The alert kinds the desk lists: those that need the manager to act on a dealer.
ACTION_ALERT_KINDS = [Alert.Kind.DEALER_EVENT, Alert.Kind.LIMITATION]
ACTION_ALERTS_SHOWN = 10


def sees_action_alerts(user: User | AnonymousUser) -> bool:
    """Whether the desk lists the alerts to act on: for managers, as the alert list
    itself is (`dunning.views.lists.alert_list`)."""
    return role_of(user) == Role.MANAGER


def sees_whole_book(user: User | AnonymousUser) -> bool:
    """Whether `user` sees every dealer: a role whose `Dealer.objects.visible_to` narrows
    nothing (managers, finance, auditors; not collectors, not agencies)."""
    return role_of(user) is not None and not Dealer.objects.visible_to(user).query.has_filters()


# The figures ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Amount:
    """An amount across currencies: per currency (sorted by code) and in the reporting
    currency, None when one of its currencies has no rate."""

    by_currency: tuple[tuple[str, Decimal], ...]
    converted: Decimal | None

    @property
    def value(self) -> float:
        """For drawing only: the converted amount, 0 when there is none."""
        return float(self.converted or 0)


@dataclass(frozen=True)
class AgingRow:
    key: str
    label: str
    count: int
    amount: Decimal

    @property
    def value(self) -> float:
        return float(self.amount)


@dataclass(frozen=True)
class AgingTable:
    currency: str
    rows: list[AgingRow]
    count: int
    amount: Decimal


@dataclass(frozen=True)
class Kpis:
    """One month's ledger KPIs in one currency (the reporting one when converted)."""

    currency: str
    sales: Decimal
    closing: Decimal
    dso: Decimal | None
    cei: Decimal | None
    average_days_late: Decimal | None


@dataclass(frozen=True)
class MonthKpis:
    """One month (to date for the current one): the KPIs converted to the reporting
    currency, or per currency when a rate is missing, and the broken-promise rate."""

    start: dt.date
    end: dt.date
    converted: Kpis | None
    by_currency: list[Kpis]
    broken_promise_rate: Decimal | None

    @property
    def label(self) -> str:
        return date_format(self.start, "M Y")

    def _of(self, name: str) -> Decimal | None:
        return None if self.converted is None else getattr(self.converted, name)

    @property
    def dso(self) -> Decimal | None:
        return self._of("dso")

    @property
    def cei(self) -> Decimal | None:
        return self._of("cei")

    @property
    def average_days_late(self) -> Decimal | None:
        return self._of("average_days_late")


@dataclass(frozen=True)
class BookRow:
    """The dealers owing something in one stage or one risk class."""

    kind: str  # "stage" or "risk"
    key: str
    dealers: int
    balance: Amount
    overdue: Amount

    @property
    def label(self) -> str:
        return Stage(self.key).label if self.kind == "stage" else RiskClass(self.key).label

    @property
    def value(self) -> float:
        return self.balance.value


@dataclass(frozen=True)
class CollectorLoad:
    """One collector's portfolio and week; `user_id` None for the dealers nobody has."""

    user_id: int | None
    name: str
    dealers: int
    overdue_dealers: int
    overdue: Amount
    contacts_this_week: int
    promises_this_week: int
    recovered_this_month: Amount

    @property
    def label(self) -> str:
        return self.name or gettext("No collector")

    @property
    def value(self) -> float:
        return self.overdue.value


@dataclass(frozen=True)
class AllowanceRow:
    risk_class: str
    count: int
    open_amount: Decimal
    rate_percent: Decimal
    allowance: Decimal

    @property
    def label(self) -> str:
        return RiskClass(self.risk_class).label

    @property
    def value(self) -> float:
        return float(self.allowance)


@dataclass(frozen=True)
class AllowanceTable:
    currency: str
    rows: list[AllowanceRow]
    count: int
    open_amount: Decimal
    allowance: Decimal


@dataclass(frozen=True)
class ForecastWeek:
    key: str
    start: dt.date
    end: dt.date
    promised: Decimal
    expected: Decimal

    @property
    def label(self) -> str:
        return self.key.split("-")[1]


@dataclass(frozen=True)
class ForecastTable:
    currency: str
    weeks: list[ForecastWeek]
    promised: Decimal
    expected: Decimal
    default_reliability_percent: Decimal


@dataclass(frozen=True)
class TeamFigures:
    """Everything the desk shows that is worth keeping for a few minutes. Where a table
    is None (a rate is missing), its `*_by_currency` list holds one table per currency."""

    today: dt.date
    computed_at: dt.datetime
    reporting_currency: str
    currencies: list[str]
    missing_rates: list[str]
    aging: AgingTable | None
    aging_by_currency: list[AgingTable]
    kpis: list[MonthKpis]
    by_stage: list[BookRow]
    by_risk: list[BookRow]
    collectors: list[CollectorLoad]
    allowance: AllowanceTable | None
    allowance_by_currency: list[AllowanceTable]
    forecast: ForecastTable | None
    forecast_by_currency: list[ForecastTable]
    week_start: dt.date  # the Monday of this ISO week: contacts and promises from then
    month_start: dt.date  # the first of this month: recoveries from then

    @property
    def default_reliability_percent(self) -> Decimal | None:
        """The reliability the forecast applies to dealers without a record."""
        tables = [self.forecast] if self.forecast else self.forecast_by_currency
        return tables[0].default_reliability_percent if tables else None


def team_figures(
    *, today: dt.date, now: dt.datetime, policy: CollectionPolicy | None = None
) -> TeamFigures:
    """The whole book's figures on `today`, computed now. A fixed number of queries
    whatever the size of the book (one grouped query per figure, never one per dealer
    or per collector)."""
    policy = policy or CollectionPolicy.current()
    currencies = list(
        Dealer.objects.order_by("currency").values_list("currency", flat=True).distinct()
    )
    rates = rates_on(today, currencies)
    missing = set(rates.missing(currencies))

    aging, aging_by_currency = _aging(today, missing)
    kpis = [_month_kpis(start, end, currencies, missing) for start, end in months_up_to(today)]
    class_rows = book_by_class(Dealer.objects.all(), today=today, policy=policy, by_stage=True)
    allowance, allowance_by_currency = _allowance(class_rows, today, policy, currencies, missing)
    forecast, forecast_by_currency = _forecast(today, currencies, missing)
    week_start = today - dt.timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    return TeamFigures(
        today=today,
        computed_at=now,
        reporting_currency=rates.reporting,
        currencies=currencies,
        missing_rates=sorted(missing),
        aging=aging,
        aging_by_currency=aging_by_currency,
        kpis=kpis,
        by_stage=_book_rows(class_rows, "stage", [s.value for s in Stage], rates),
        by_risk=_book_rows(class_rows, "risk", [r.value for r in RiskClass], rates),
        collectors=_collectors(today, week_start, month_start, rates),
        allowance=allowance,
        allowance_by_currency=allowance_by_currency,
        forecast=forecast,
        forecast_by_currency=forecast_by_currency,
        week_start=week_start,
        month_start=month_start,
    )


def months_up_to(today: dt.date, count: int = KPI_MONTHS) -> list[tuple[dt.date, dt.date]]:
    """The last `count` calendar months, oldest first, each as (first day, last day),
    the current one ending `today`."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        months.append((dt.date(year, month, 1), min(last, today)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _amount(amounts: dict[str, Decimal], rates: Rates) -> Amount:
    """Amounts per currency as an `Amount`, converted at `rates` when every currency
    has one (each converted and rounded once, as `in_one_currency` does)."""
    by_currency = tuple(sorted((code, value) for code, value in amounts.items() if value))
    if rates.missing(code for code, _value in by_currency):
        return Amount(by_currency, None)
    return Amount(by_currency, sum((rates.to_reporting(v, c) for c, v in by_currency), ZERO))


def _aging_table(report: dict) -> AgingTable:
    return AgingTable(
        currency=report.get("currency", ""),
        rows=[
            AgingRow(b["key"], BUCKET_LABELS[b["key"]], b["count"], b["amount"])
            for b in report["buckets"]
        ],
        count=report["total"]["count"],
        amount=report["total"]["amount"],
    )


def _aging(today: dt.date, missing: set[str]) -> tuple[AgingTable | None, list[AgingTable]]:
    """The aging report in the reporting currency (as the API's, `aging_report`) and
    per currency (`aging_by_currency`)."""
    by_currency = [
        _aging_table({**report, "currency": code})
        for code, report in Order.objects.aging_by_currency(today).items()
    ]
    try:
        converted: AgingTable | None = _aging_table(aging_report(Order.objects.all(), today))
    except MissingRate as error:
        missing.add(error.currency)
        converted = None
    return converted, by_currency


def _kpis(report: dict[str, Any]) -> Kpis:
    return Kpis(
        currency=report["currency"],
        sales=report["sales"],
        closing=report["closing"],
        dso=report["dso"],
        cei=report["cei"],
        average_days_late=report["average_days_late"],
    )


def _month_kpis(
    start: dt.date, end: dt.date, currencies: list[str], missing: set[str]
) -> MonthKpis:
    """A month's KPIs as the KPI endpoint answers them for the whole book."""
    try:
        converted: Kpis | None = _kpis(kpi_report(start=start, end=end))
        by_currency = []
    except MissingRate as error:
        missing.add(error.currency)
        converted = None
        by_currency = [_kpis(kpi_report(start=start, end=end, currency=c)) for c in currencies]
    return MonthKpis(
        start=start,
        end=end,
        converted=converted,
        by_currency=by_currency,
        broken_promise_rate=broken_promise_rate(start=start, end=end),
    )


def _book_rows(rows: list[ClassRow], kind: str, keys: list[str], rates: Rates) -> list[BookRow]:
    """The rows of `book_by_class` added up per stage or per risk class, every one
    listed in its order."""
    dealers = dict.fromkeys(keys, 0)
    balance: dict[str, dict[str, Decimal]] = {key: {} for key in keys}
    overdue: dict[str, dict[str, Decimal]] = {key: {} for key in keys}
    for row in rows:
        key = row.stage if kind == "stage" else row.risk_class.value
        dealers[key] += row.dealers
        balance[key][row.currency] = balance[key].get(row.currency, ZERO) + row.balance
        overdue[key][row.currency] = overdue[key].get(row.currency, ZERO) + row.overdue
    return [
        BookRow(kind, key, dealers[key], _amount(balance[key], rates), _amount(overdue[key], rates))
        for key in keys
    ]


def _allowance_table(report: dict) -> AllowanceTable:
    return AllowanceTable(
        currency=report["currency"],
        rows=[
            AllowanceRow(
                c["risk_class"], c["count"], c["open_amount"], c["rate_percent"], c["allowance"]
            )
            for c in report["classes"]
        ],
        count=report["total"]["count"],
        open_amount=report["total"]["open_amount"],
        allowance=report["total"]["allowance"],
    )


def _allowance(
    rows: list[ClassRow],
    today: dt.date,
    policy: CollectionPolicy,
    currencies: list[str],
    missing: set[str],
) -> tuple[AllowanceTable | None, list[AllowanceTable]]:
    """The allowance as the API's (`allowance_from_rows` over the same grouped rows)."""
    try:
        report = allowance_from_rows(rows, on=today, policy=policy, currency=None)
        return _allowance_table(report), []
    except MissingRate as error:
        missing.add(error.currency)
    return None, [
        _allowance_table(allowance_from_rows(rows, on=today, policy=policy, currency=code))
        for code in currencies
    ]


def _forecast_table(report: dict) -> ForecastTable:
    return ForecastTable(
        currency=report["currency"],
        weeks=[
            ForecastWeek(w["week"], w["from"], w["to"], w["promised"], w["expected"])
            for w in report["weeks"]
        ],
        promised=report["total"]["promised"],
        expected=report["total"]["expected"],
        default_reliability_percent=report["default_reliability_percent"],
    )


def _forecast(
    today: dt.date, currencies: list[str], missing: set[str]
) -> tuple[ForecastTable | None, list[ForecastTable]]:
    """The next eight weeks' receipts as the API's forecast (its default range)."""
    rows = forecast_rows(start=today, end=forecast_end(today), today=today)
    try:
        return _forecast_table(forecast_from_rows(rows, currency=None)), []
    except MissingRate as error:
        missing.add(error.currency)
    return None, [_forecast_table(forecast_from_rows(rows, currency=c)) for c in currencies]


def _collectors(
    today: dt.date, week_start: dt.date, month_start: dt.date, rates: Rates
) -> list[CollectorLoad]:
    """Each collector's load in five grouped queries, whatever the number of collectors
    and dealers: the portfolio (dealers, overdue) by collector and currency, the
    contacts each logged and the promises each recorded this ISO week, the payments
    received this month on each one's dealers, and the collectors themselves (the
    collector role's active members, and whoever has dealers)."""
    portfolio = (
        Dealer.objects.with_balance(today)
        .values("collector_id", "currency")
        .annotate(
            n=Count("pk"),
            overdue_n=Count("pk", filter=Q(overdue__gt=0)),
            overdue_total=money_sum("overdue"),
        )
        .order_by()
    )
    zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)
    week_from = dt.datetime.combine(week_start, dt.time.min, tzinfo=zone)
    week_to = week_from + dt.timedelta(days=7)
    contacts = dict(
        ContactLog.objects.filter(at__gte=week_from, at__lt=week_to, logged_by__isnull=False)
        .values("logged_by_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("logged_by_id", "n")
    )
    promises = dict(
        Promise.objects.filter(made_on__gte=week_start, made_on__lte=today, made_by__isnull=False)
        .values("made_by_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("made_by_id", "n")
    )
    recovered: dict[int | None, dict[str, Decimal]] = {}
    for collector_id, code, total in (
        Payment.objects.filter(received_on__gte=month_start, received_on__lte=today)
        .values("dealer__collector_id", "dealer__currency")
        .annotate(total=money_sum("amount"))
        .order_by()
        .values_list("dealer__collector_id", "dealer__currency", "total")
    ):
        recovered.setdefault(collector_id, {})[code] = total
    dealers: dict[int | None, list[int]] = {}
    overdue: dict[int | None, dict[str, Decimal]] = {}
    for row in portfolio:
        counts = dealers.setdefault(row["collector_id"], [0, 0])
        counts[0] += row["n"]
        counts[1] += row["overdue_n"]
        overdue.setdefault(row["collector_id"], {})[row["currency"]] = row["overdue_total"]
    with_dealers = [pk for pk in dealers if pk is not None]
    users = (
        get_user_model()
        .objects.filter(
            Q(pk__in=with_dealers) | Q(groups__name=Role.COLLECTOR.value, is_active=True)
        )
        .distinct()
        .order_by("username")
    )

    def load(user_id: int | None, name: str) -> CollectorLoad:
        counts = dealers.get(user_id, [0, 0])
        return CollectorLoad(
            user_id=user_id,
            name=name,
            dealers=counts[0],
            overdue_dealers=counts[1],
            overdue=_amount(overdue.get(user_id, {}), rates),
            contacts_this_week=contacts.get(user_id, 0) if user_id else 0,
            promises_this_week=promises.get(user_id, 0) if user_id else 0,
            recovered_this_month=_amount(recovered.get(user_id, {}), rates),
        )

    loads = [load(user.pk, user.get_full_name() or user.get_username()) for user in users]
    if None in dealers:
        loads.append(load(None, ""))
    return loads


# The cache --------------------------------------------------------------------------------


def cache_key(today: dt.date) -> str:
    return f"team-desk:v{CACHE_VERSION}:{settings.REPORTING_CURRENCY}:{today.isoformat()}"


def refresh_team_figures(*, today: dt.date, now: dt.datetime) -> TeamFigures:
    """Compute the figures of `today` now and keep them for `DESK_FIGURES_SECONDS`."""
    figures = team_figures(today=today, now=now)
    cache.set(cache_key(today), figures, DESK_FIGURES_SECONDS)
    return figures


def cached_team_figures(*, today: dt.date, now: dt.datetime) -> TeamFigures:
    """The figures of `today` from the cache, computed and stored when there are none
    (or none this code can read)."""
    figures = cache.get(cache_key(today))
    if isinstance(figures, TeamFigures) and figures.today == today:
        return figures
    return refresh_team_figures(today=today, now=now)


# The lists read live ---------------------------------------------------------------------


def action_alerts(limit: int = ACTION_ALERTS_SHOWN) -> tuple[int, list[Alert]]:
    """(how many, the newest `limit`) of the open alerts that ask a manager to act on a
    dealer: danger signs and limitation warnings."""
    alerts = Alert.objects.filter(kind__in=ACTION_ALERT_KINDS, acknowledged_at__isnull=True)
    return alerts.count(), list(
        alerts.select_related("dealer").order_by("-created_at", "-id")[:limit]
    )


def active_overrides(today: dt.date) -> QuerySet[CollectionAccount]:
    """The credit-hold overrides still in force on `today`, ending soonest first."""
    return (
        CollectionAccount.objects.filter(credit_hold_override_until__gte=today)
        .select_related("dealer", "credit_hold_override_by")
        .order_by("credit_hold_override_until", "dealer__code")
    )


__all__ = [
    "DESK_FIGURES_SECONDS",
    "TeamFigures",
    "action_alerts",
    "active_overrides",
    "cached_team_figures",
    "months_up_to",
    "refresh_team_figures",
    "sees_action_alerts",
    "sees_whole_book",
    "team_figures",
]

"""The workflow's report endpoints (docs/API.md "Reports"): the KPIs (the ledger's figures,
`receivables.reports`, with the workflow's broken-promise rate), the bad-debt allowance
by risk class and the forecast of receipts from open promises (`dunning.reports`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from dunning.reports import (
    FORECAST_MAX_WEEKS,
    allowance_report,
    broken_promise_rate,
    forecast_end,
    forecast_report,
    week_count,
)
from receivables.api_types import Currency, Day, Errors, money, money_or_none, require
from receivables.dates import business_today
from receivables.models import Dealer
from receivables.reports import kpi_report

kpi_router = Router(tags=["reports"])


class KpiQuery(Schema):
    start: Day = Field(alias="from")
    end: Day = Field(alias="to")
    currency: Currency | None = Field(
        None,
        description="Only dealers billed in this currency; without it every amount is "
        "converted to the reporting currency at the rates of `to`",
    )


class KpiOut(Schema):
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    currency: str = Field(
        description="The currency of the amounts: the one asked for, or the reporting "
        "currency every amount was converted to"
    )
    sales: str
    opening: str
    closing: str
    closing_current: str
    dso: str | None
    cei: str | None
    average_days_late: str | None
    orders_paid: int = Field(description="Orders that became fully paid in the period")
    broken_promise_rate: str | None


@kpi_router.get("/kpis", response={200: KpiOut, codes_4xx: Errors}, by_alias=True)
def kpis(request: HttpRequest, query: Query[KpiQuery]) -> dict[str, Any]:
    """The collection KPIs over [from, to], both days included, over the dealers this
    user may see. Ratios are null when there is nothing to divide by; 409 when an
    amount needs an exchange rate that is missing."""
    require(request, "receivables.view_order")
    if query.end < query.start:
        raise ValidationError({"to": ["The period ends before it starts."]})
    dealers = Dealer.objects.visible_to(request.user)
    if query.currency is not None:
        dealers = dealers.filter(currency=query.currency)
    figures = kpi_report(start=query.start, end=query.end, dealers=dealers, currency=query.currency)
    figures["broken_promise_rate"] = broken_promise_rate(
        start=query.start, end=query.end, dealers=dealers
    )
    answer: dict[str, Any] = {
        key: money_or_none(figures[key])
        for key in (
            "sales",
            "opening",
            "closing",
            "closing_current",
            "dso",
            "cei",
            "average_days_late",
            "broken_promise_rate",
        )
    }
    answer["orders_paid"] = figures["orders_paid"]
    answer["currency"] = figures["currency"]
    answer["from"], answer["to"] = query.start, query.end
    return answer


# The bad-debt allowance


class AllowanceQuery(Schema):
    as_of: Day | None = Field(None, description="Default: today")
    currency: Currency | None = Field(
        None,
        description="Only dealers billed in this currency; without it every amount is "
        "converted to the reporting currency at the rates of `as_of`",
    )


class AllowanceClassOut(Schema):
    risk_class: str
    count: int = Field(description="Dealers of the class with an open balance")
    open_amount: str
    rate_percent: str = Field(description="The collection policy's rate for the class")
    allowance: str


class AllowanceTotalOut(Schema):
    count: int
    open_amount: str
    allowance: str


class AllowanceOut(Schema):
    as_of: dt.date
    currency: str = Field(
        description="The currency of the amounts: the one asked for, or the reporting "
        "currency every amount was converted to"
    )
    classes: list[AllowanceClassOut]
    total: AllowanceTotalOut


@kpi_router.get("/allowance", response={200: AllowanceOut, codes_4xx: Errors})
def allowance(request: HttpRequest, query: Query[AllowanceQuery]) -> dict[str, Any]:
    """The bad-debt allowance on `as_of`: the open balances of the dealers this user may
    see by risk class, each class at the collection policy's rate. 409 when an amount
    needs an exchange rate that is missing."""
    require(request, "receivables.view_order")
    report = allowance_report(
        as_of=query.as_of or business_today(),
        dealers=Dealer.objects.visible_to(request.user),
        currency=query.currency,
    )
    return {
        "as_of": report["as_of"],
        "currency": report["currency"],
        "classes": [
            {
                "risk_class": row["risk_class"],
                "count": row["count"],
                "open_amount": money(row["open_amount"]),
                "rate_percent": money(row["rate_percent"]),
                "allowance": money(row["allowance"]),
            }
            for row in report["classes"]
        ],
        "total": {
            "count": report["total"]["count"],
            "open_amount": money(report["total"]["open_amount"]),
            "allowance": money(report["total"]["allowance"]),
        },
    }


# The forecast of receipts


class ForecastQuery(Schema):
    start: Day | None = Field(None, alias="from", description="Default: today")
    end: Day | None = Field(
        None,
        alias="to",
        description="Default: the Sunday ending the eighth ISO week, counting the week of "
        "`from` as the first",
    )
    currency: Currency | None = Field(
        None,
        description="Only dealers billed in this currency; without it every amount is "
        "converted to the reporting currency at the rates of `to`",
    )


class ForecastWeekOut(Schema):
    week: str = Field(description='The ISO week, e.g. "2026-W10"')
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    promised: str
    expected: str


class ForecastTotalOut(Schema):
    promised: str
    expected: str


class ForecastOut(Schema):
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    currency: str = Field(
        description="The currency of the amounts: the one asked for, or the reporting "
        "currency every amount was converted to"
    )
    default_reliability_percent: str = Field(
        description="The reliability applied to the promises of dealers without a record"
    )
    weeks: list[ForecastWeekOut]
    total: ForecastTotalOut


@kpi_router.get("/forecast", response={200: ForecastOut, codes_4xx: Errors}, by_alias=True)
def forecast(request: HttpRequest, query: Query[ForecastQuery]) -> dict[str, Any]:
    """Expected receipts by ISO week over [from, to]: the open promises (installments
    included) of the dealers this user may see, as promised and as expected from each
    dealer's record of kept promises. 400 for a range backwards or longer than 53 weeks;
    409 when an amount needs an exchange rate that is missing."""
    require(request, "receivables.view_order")
    today = business_today()
    start = query.start or today
    end = query.end or forecast_end(start)
    if end < start:
        raise ValidationError({"to": ["The period ends before it starts."]})
    if week_count(start, end) > FORECAST_MAX_WEEKS:
        raise ValidationError(
            {"to": [f"The period may cover at most {FORECAST_MAX_WEEKS} ISO weeks."]}
        )
    report = forecast_report(
        start=start,
        end=end,
        today=today,
        dealers=Dealer.objects.visible_to(request.user),
        currency=query.currency,
    )
    return {
        "from": report["from"],
        "to": report["to"],
        "currency": report["currency"],
        "default_reliability_percent": money(report["default_reliability_percent"]),
        "weeks": [
            {
                "week": week["week"],
                "from": week["from"],
                "to": week["to"],
                "promised": money(week["promised"]),
                "expected": money(week["expected"]),
            }
            for week in report["weeks"]
        ],
        "total": {
            "promised": money(report["total"]["promised"]),
            "expected": money(report["total"]["expected"]),
        },
    }


__all__ = ["kpi_router"]

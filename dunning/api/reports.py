"""The KPI endpoint (docs/API.md "Reports"): the ledger's figures (`receivables.reports`)
with the workflow's broken-promise rate (`dunning.reports`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import codes_4xx

from dunning.reports import broken_promise_rate
from receivables.api_types import Currency, Day, Errors, money_or_none, require
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


__all__ = ["kpi_router"]

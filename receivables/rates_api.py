"""The exchange-rate endpoints of the JSON API: finance keeps the rates that convert the
dealers' currencies to the reporting currency (`settings.REPORTING_CURRENCY`).

A rate leaves as a string with exactly 8 decimals, as the database stores it ("25.125"
in, "25.12500000" out), never as a number; it comes in as a string or a JSON number.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.params import P, PathEx
from ninja.responses import codes_4xx

from receivables.api_types import Currency, Day, Errors, change_reason, require
from receivables.models import ExchangeRate
from receivables.rates import upsert_rate
from receivables.validation import RATE_PLACES

rates_router = Router(tags=["rates"])

# The currency is checked by the service (receivables.validation), so that the API, the
# importer and the admin word a bad code alike.
CurrencyPath = PathEx[str, P(min_length=1, max_length=40)]
DayPath = PathEx[dt.date, P(ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))]


def rate_text(rate: Decimal) -> str:
    """A rate with its 8 decimals written out ("0.00000001", never "1E-8")."""
    return format(rate.quantize(RATE_PLACES), "f")


class RateIn(Schema):
    rate: Decimal = Field(
        description="Units of the reporting currency for one unit of the currency: "
        'a string ("25.125") or a number, more than 0, at most 8 decimals'
    )


class RateOut(Schema):
    currency: str
    on: dt.date
    rate: str = Field(description='With 8 decimals, e.g. "25.12500000"')


class RatesQuery(Schema):
    currency: Currency | None = Field(None, description="Only this currency, e.g. CZK")
    start: Day | None = Field(None, alias="from", description="Rates from this day on")
    end: Day | None = Field(None, alias="to", description="Rates up to this day")


def _rate_answer(rate: ExchangeRate) -> dict[str, Any]:
    return {"currency": rate.currency, "on": rate.on, "rate": rate_text(rate.rate)}


@rates_router.put("/rates/{currency}/{on}", response={200: RateOut, codes_4xx: Errors})
def put_rate(
    request: HttpRequest, currency: CurrencyPath, on: DayPath, payload: RateIn
) -> dict[str, Any]:
    """Set the rate of `currency` (e.g. CZK) from the day `on` (YYYY-MM-DD). Sending the
    same rate twice changes nothing. The reporting currency is refused: its rate is 1."""
    require(request, "receivables.add_exchangerate", "receivables.change_exchangerate")
    rate = upsert_rate(
        currency=currency,
        on=on,
        rate=payload.rate,
        user=request.user,
        reason=change_reason(request),
    )
    return _rate_answer(rate)


@rates_router.get("/rates", response={200: list[RateOut], codes_4xx: Errors})
def list_rates(request: HttpRequest, query: Query[RatesQuery]) -> list[dict[str, Any]]:
    """The stored rates, newest first; `from` and `to` are both included."""
    require(request, "receivables.view_exchangerate")
    if query.start is not None and query.end is not None and query.end < query.start:
        raise ValidationError({"to": ["The period ends before it starts."]})
    rates = ExchangeRate.objects.order_by("-on", "currency")
    if query.currency is not None:
        rates = rates.filter(currency=query.currency)
    if query.start is not None:
        rates = rates.filter(on__gte=query.start)
    if query.end is not None:
        rates = rates.filter(on__lte=query.end)
    return [_rate_answer(rate) for rate in rates]


__all__ = ["rates_router"]

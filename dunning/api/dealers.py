"""The dealer endpoints of the JSON API (docs/API.md "Ledger"): a dealer as the ledger
keeps it, with its standing in collection (stage, risk class, credit hold), and the
credit status the order desk asks for. They are served here, on top of both apps,
because the answer needs both; the ledger's part comes from `receivables.api`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import codes_4xx

from dunning.figures import collection_summary, limitation_standing
from receivables.access import get_dealer_for_user
from receivables.api import dealer_ledger_answer
from receivables.api_types import (
    DealerCode,
    Errors,
    MoneyIn,
    PlainText,
    Username,
    change_reason,
    require,
)
from receivables.dates import business_today
from receivables.models import ZERO, Dealer
from receivables.roles import Role, role_of
from receivables.services import upsert_dealer

dealers_router = Router(tags=["ledger"])

# As the API spells them (dunning.models.Stage and RiskClass hold the same values).
StageName = Literal["current", "reminder", "soft", "hard", "litigation", "agency", "written_off"]
RiskClassName = Literal["uncollected", "in_collection", "quasi_bad", "bad", "dead"]


class DealerIn(Schema):
    """A dealer as the ERP sends it. Optional fields left out keep their stored value."""

    name: Annotated[PlainText, Field(min_length=1, max_length=200)]
    country: Annotated[PlainText, Field(description="ISO 3166 alpha-2, e.g. DE")]
    currency: Annotated[PlainText, Field(description="ISO 4217, e.g. EUR")]
    address: Annotated[PlainText, Field(max_length=2000)] = ""
    postal_code: Annotated[PlainText, Field(max_length=20)] = ""
    city: Annotated[PlainText, Field(max_length=100)] = ""
    language: Annotated[PlainText, Field(max_length=10)] = "en"
    phone: Annotated[PlainText, Field(max_length=40)] = ""
    region: Annotated[PlainText, Field(max_length=100)] = ""
    credit_limit: MoneyIn = Field(ZERO, description="0 means no limit")
    payment_terms_days: int = Field(30, ge=0, le=3650)
    collector: Username | None = Field(None, description="Username; null for none")


class DealerOut(Schema):
    code: str
    name: str
    country: str
    currency: str
    language: str
    address: str
    postal_code: str
    city: str
    phone: str
    region: str
    payment_terms_days: int
    credit_limit: str
    collector: str | None
    balance: str = Field(description="Open amount of the dealer's orders today")
    overdue: str = Field(description="The part of the balance past its due date")
    oldest_due_on: dt.date | None = Field(description="Due date of the oldest overdue order")
    stage: StageName
    risk_class: RiskClassName | None = Field(
        description="null for an agency user: the risk class is internal"
    )
    credit_hold: bool
    last_acknowledged_on: dt.date | None = Field(
        description="The dealer's last payment or promise: when the limitation clock restarted"
    )
    limitation_on: dt.date | None = Field(
        description="When the oldest open claim becomes time-barred; null when nothing is open"
    )


class CreditStatusOut(Schema):
    credit_hold: bool
    reason: str
    cash_only: bool


def _dealer(request: HttpRequest, code: str, today: dt.date) -> Dealer:
    require(request, "receivables.view_dealer")
    # One dealer: derived from its open orders (the kept figures serve lists).
    dealers = Dealer.objects.with_derived_balance(today).select_related("collector")
    return get_dealer_for_user(request.user, code, dealers=dealers)


def _dealer_answer(request: HttpRequest, dealer: Dealer, today: dt.date) -> dict[str, Any]:
    summary = collection_summary(dealer, today)
    limitation = limitation_standing(dealer, today)
    # The risk class is the company's internal judgement of the dealer: an agency user,
    # who sees the dealers placed with the agency, gets null.
    internal = role_of(request.user) != Role.AGENCY
    return {
        **dealer_ledger_answer(dealer),
        "stage": summary.stage,
        "risk_class": summary.risk_class if internal else None,
        "credit_hold": summary.credit.credit_hold,
        "last_acknowledged_on": limitation.last_acknowledged_on,
        "limitation_on": limitation.limitation_on,
    }


@dealers_router.put("/dealers/{code}", response={200: DealerOut, codes_4xx: Errors})
def put_dealer(request: HttpRequest, code: DealerCode, payload: DealerIn) -> dict[str, Any]:
    """Create or update a dealer. Sending the same body twice changes nothing."""
    require(request, "receivables.add_dealer", "receivables.change_dealer")
    upsert_dealer(
        code=code,
        user=request.user,
        reason=change_reason(request),
        **payload.model_dump(exclude_unset=True),
    )
    today = business_today()
    return _dealer_answer(request, _dealer(request, code, today), today)


@dealers_router.get("/dealers/{code}", response={200: DealerOut, codes_4xx: Errors})
def get_dealer(request: HttpRequest, code: DealerCode) -> dict[str, Any]:
    today = business_today()
    return _dealer_answer(request, _dealer(request, code, today), today)


@dealers_router.get(
    "/dealers/{code}/credit-status", response={200: CreditStatusOut, codes_4xx: Errors}
)
def get_credit_status(request: HttpRequest, code: DealerCode) -> dict[str, Any]:
    """Whether the order desk may sell to this dealer on credit."""
    today = business_today()
    status = collection_summary(_dealer(request, code, today), today).credit
    return {
        "credit_hold": status.credit_hold,
        "reason": status.reason,
        "cash_only": status.cash_only,
    }


__all__ = ["dealers_router"]

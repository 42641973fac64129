"""What every module of the JSON API shares: the error schema, the input types (keys,
text, money, dates) and how money and timestamps are written in answers, and the
permission check. The error handlers themselves are on the NinjaAPI (`config.api`).

Money leaves as a string with two decimals, rounded half up, never as a number;
timestamps as ISO 8601 with the business zone's offset.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Schema
from ninja.params import P, PathEx
from pydantic import AfterValidator, StringConstraints

from receivables.reports import two_places
from receivables.validation import as_sentence, text_problem


def _refuse_nul(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(as_sentence(problem))
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]
PlainText = Annotated[Text, StringConstraints(strip_whitespace=True)]
# A note or a reason a person writes.
Note = Annotated[PlainText, StringConstraints(max_length=5000)]
# Business keys are matched exactly as the ERP writes them (leading zeros matter).
DealerCode = PathEx[Text, P(min_length=1, max_length=40)]
OrderNumber = PathEx[Text, P(min_length=1, max_length=40)]
PaymentReference = PathEx[Text, P(min_length=1, max_length=60)]
KeyRef = Annotated[Text, StringConstraints(min_length=1, max_length=60)]
Username = Annotated[Text, StringConstraints(min_length=1, max_length=150)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
# A string ("1234.50") or a JSON number; services check the sign and the bounds.
MoneyIn = Annotated[Decimal, Field(max_digits=14, decimal_places=2)]
# Dates a ledger can hold; also keeps date arithmetic in the reports away from year 1.
Day = Annotated[dt.date, Field(ge=dt.date(1900, 1, 1), le=dt.date(2999, 12, 31))]


class FieldError(Schema):
    field: str
    message: str


class Errors(Schema):
    errors: list[FieldError]


def money(value: Decimal) -> str:
    """Money as the API writes it: a string with two decimals, rounded half up."""
    return str(two_places(value))


def money_or_none(value: Decimal | None) -> str | None:
    return None if value is None else money(value)


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 with the business zone's offset, e.g. 2026-03-02T12:00:00+01:00."""
    if value is None:
        return None
    return timezone.localtime(value, ZoneInfo(settings.BUSINESS_TIME_ZONE)).isoformat()


def username(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def require(request: HttpRequest, *perms: str) -> None:
    """The web UI's model permissions apply to the API too."""
    if not request.user.has_perms(perms):
        raise PermissionDenied("Your role does not allow this.")


def change_reason(request: HttpRequest) -> str:
    """The reason history records for a change made through the API."""
    return f"API {request.method} {request.path}"

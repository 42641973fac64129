"""Calendar arithmetic the ledger and the workflow share."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def business_today() -> dt.date:
    """Today's date in the business time zone, the calendar that due dates live in."""
    return timezone.localdate(timezone=ZoneInfo(settings.BUSINESS_TIME_ZONE))


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (earlier when negative); 29 February becomes
    28 February in a year without it, so that a period never runs past its month."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)

"""Calendar arithmetic the ledger and the workflow share."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def business_today() -> dt.date:
    """Today's date in the business time zone, the calendar that due dates live in."""
    return timezone.localdate(timezone=ZoneInfo(settings.BUSINESS_TIME_ZONE))

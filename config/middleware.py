from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class BusinessTimeZoneMiddleware:
    """Pages read and show times in the business time zone: a collector in Berlin types
    and reads Berlin times, whatever zone the database stores in (UTC)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.zone = ZoneInfo(settings.BUSINESS_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with timezone.override(self.zone):
            return self.get_response(request)

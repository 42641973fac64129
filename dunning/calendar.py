"""Business days and contact rules: when a promise falls due, when a dealer may be called, and when
a follow-up should be suggested ("Promises are pinned down", "Timing" and "Firm, not abusive",
docs/PRACTICE.md §8, §9 and §19).

Everything here is pure: it takes the policy, the dealer's country and zone, and the time,
and never reads the clock itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from statistics import median
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

from dunning.models import CollectionPolicy

# The main zone of the countries the business sells in; others use the business zone.
COUNTRY_ZONES = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "ES": "Europe/Madrid",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "HU": "Europe/Budapest",
    "IT": "Europe/Rome",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "RO": "Europe/Bucharest",
    "SK": "Europe/Bratislava",
    "UA": "Europe/Kyiv",
    "US": "America/Chicago",
}


def dealer_zone(country: str, time_zone: str = "") -> ZoneInfo:
    return ZoneInfo(time_zone or COUNTRY_ZONES.get(country, settings.BUSINESS_TIME_ZONE))


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> holidays.HolidayBase | dict:
    try:
        return holidays.country_holidays(country, years=year)
    except NotImplementedError:
        # A country the package does not know: only weekends are days off.
        return {}


def is_public_holiday(country: str, day: dt.date) -> bool:
    return day in _holidays(country, day.year)


def is_business_day(country: str, day: dt.date) -> bool:
    return day.weekday() < 5 and not is_public_holiday(country, day)


def next_business_day_on_or_after(country: str, day: dt.date) -> dt.date:
    while not is_business_day(country, day):
        day += dt.timedelta(days=1)
    return day


def next_business_day_after(country: str, day: dt.date) -> dt.date:
    return next_business_day_on_or_after(country, day + dt.timedelta(days=1))


@dataclass(frozen=True)
class CallPermission:
    allowed: bool
    rule: str = ""
    next_allowed_at: dt.datetime | None = None


# The caps count calls on the dealer's local day and in its local ISO week. That week
# began at most seven days and an hour (a clock change) before the moment asked about,
# so the calls of the eight days before it are all the count can need, in any zone.
CALL_COUNT_DAYS = 8


@dataclass(frozen=True)
class CallCounts:
    today: int
    this_week: int


def count_calls(calls: Iterable[dt.datetime], *, zone: ZoneInfo, at: dt.datetime) -> CallCounts:
    """The calls (and visits) made at or before `at` on the dealer's local day and in its
    local ISO week; `calls` may hold others, later or older, which are left out."""
    local_at = at.astimezone(zone)
    day = local_at.date()
    week = local_at.isocalendar()[:2]
    today = this_week = 0
    for call in calls:
        if call > at:
            continue
        local = call.astimezone(zone)
        if local.isocalendar()[:2] == week:
            this_week += 1
            if local.date() == day:
                today += 1
    return CallCounts(today=today, this_week=this_week)


def quiet_rule_at(policy: CollectionPolicy, country: str, local: dt.datetime) -> str:
    """The quiet-hours rule a contact at this local time breaks, or ""."""
    if policy.no_calls_on_sundays and local.weekday() == 6:
        return "no calls on Sundays"
    if policy.no_calls_on_holidays and is_public_holiday(country, local.date()):
        return "no calls on public holidays"
    if local.time() < policy.quiet_until:
        return f"no calls before {policy.quiet_until:%H:%M}"
    if local.time() >= policy.quiet_from:
        return f"no calls from {policy.quiet_from:%H:%M}"
    return ""


def next_call_time(
    policy: CollectionPolicy, country: str, zone: ZoneInfo, after: dt.datetime
) -> dt.datetime:
    """The first moment at or after `after` outside quiet hours, in the dealer's zone."""
    local = after.astimezone(zone)
    for _ in range(30):
        if not quiet_rule_at(policy, country, local):
            return local
        if local.time() < policy.quiet_until and local.weekday() != 6:
            candidate = dt.datetime.combine(local.date(), policy.quiet_until, tzinfo=zone)
        else:
            candidate = dt.datetime.combine(
                local.date() + dt.timedelta(days=1), policy.quiet_until, tzinfo=zone
            )
        local = candidate
    return local


def call_permission(
    policy: CollectionPolicy,
    *,
    country: str,
    zone: ZoneInfo,
    now: dt.datetime,
    calls_today: int,
    calls_this_week: int,
) -> CallPermission:
    """May this dealer be called now? If not, which rule says no and when it may be.

    `calls_today` and `calls_this_week` count calls already made, across all collectors,
    on the dealer's local day and in its local ISO week (`count_calls`).
    """
    local = now.astimezone(zone)
    if calls_this_week >= policy.calls_per_week:
        monday = local.date() - dt.timedelta(days=local.weekday()) + dt.timedelta(days=7)
        start = dt.datetime.combine(monday, dt.time(0, 0), tzinfo=zone)
        return CallPermission(
            False,
            f"at most {policy.calls_per_week} calls a week",
            next_call_time(policy, country, zone, start),
        )
    if calls_today >= policy.calls_per_day:
        tomorrow = dt.datetime.combine(
            local.date() + dt.timedelta(days=1), dt.time(0, 0), tzinfo=zone
        )
        return CallPermission(
            False,
            f"at most {policy.calls_per_day} call a day",
            next_call_time(policy, country, zone, tomorrow),
        )
    rule = quiet_rule_at(policy, country, local)
    if rule:
        return CallPermission(False, rule, next_call_time(policy, country, zone, local))
    return CallPermission(True)


def suggested_window(policy: CollectionPolicy) -> tuple[dt.time, dt.time]:
    """The window to suggest for a call or visit: the policy's, clipped out of lunch and
    quiet hours (a policy edited badly still never suggests a forbidden time)."""
    start = max(policy.suggested_from, policy.quiet_until)
    end = min(policy.suggested_to, policy.quiet_from)
    if start < policy.lunch_to and end > policy.lunch_from:
        # Overlaps lunch: keep the afternoon part, or the morning part if that is all.
        start, end = (policy.lunch_to, end) if end > policy.lunch_to else (start, policy.lunch_from)
    if end <= start:
        start, end = dt.time(15, 0), dt.time(17, 0)
    return start, end


# Suggested call days ("Timing", docs/PRACTICE.md §9): besides the daily window, the days
# a dealer most likely has cash. Two named rules, each a reason shown to the collector.

# Month-end: the last business days of a month and the first of the next, when a dealer
# has collected from its own customers and pays its suppliers.
MONTH_END_LAST_BUSINESS_DAYS = 3
MONTH_START_FIRST_BUSINESS_DAYS = 2

# Sell-through: a dealer has cash once it has sold most of its last delivery. Its rhythm
# is the median number of days between its orders (at least `RHYTHM_MIN_ORDERS` orders,
# on distinct days); it has sold `SOLD_SHARE` of the last delivery about
# `SOLD_SHARE * median` days after it: that "cash day" and the next business day after it
# (`CASH_DAY_BUSINESS_DAYS` in all) are good days to call.
SOLD_SHARE = 0.8
RHYTHM_MIN_ORDERS = 3
CASH_DAY_BUSINESS_DAYS = 2


@lru_cache(maxsize=1024)
def _business_days_of_month(country: str, year: int, month: int) -> tuple[dt.date, ...]:
    day = dt.date(year, month, 1)
    days = []
    while day.month == month:
        if is_business_day(country, day):
            days.append(day)
        day += dt.timedelta(days=1)
    return tuple(days)


def is_month_end_cash_day(country: str, day: dt.date) -> bool:
    """Whether `day` is one of the last `MONTH_END_LAST_BUSINESS_DAYS` business days of
    its month or one of the first `MONTH_START_FIRST_BUSINESS_DAYS` of it, in the
    dealer's country (weekends and its public holidays do not count)."""
    days = _business_days_of_month(country, day.year, day.month)
    return (
        day in days[-MONTH_END_LAST_BUSINESS_DAYS:] or day in days[:MONTH_START_FIRST_BUSINESS_DAYS]
    )


@dataclass(frozen=True)
class ReorderRhythm:
    last_order_on: dt.date
    median_days: float

    @property
    def cash_day(self) -> dt.date:
        """The day the dealer has probably sold `SOLD_SHARE` of its last delivery."""
        return self.last_order_on + dt.timedelta(days=round(SOLD_SHARE * self.median_days))


def reorder_rhythm(order_days: Iterable[dt.date]) -> ReorderRhythm | None:
    """The dealer's rhythm of reorders from the days it ordered (any order, repeats
    allowed): its last order and the median of the days between consecutive order days;
    None with fewer than `RHYTHM_MIN_ORDERS` order days."""
    days = sorted(set(order_days))
    if len(days) < RHYTHM_MIN_ORDERS:
        return None
    gaps = [(later - earlier).days for earlier, later in pairwise(days)]
    return ReorderRhythm(last_order_on=days[-1], median_days=float(median(gaps)))


def is_sold_through_day(country: str, day: dt.date, rhythm: ReorderRhythm) -> bool:
    """Whether `day` is among the first `CASH_DAY_BUSINESS_DAYS` business days on or
    after the rhythm's cash day, in the dealer's country."""
    good = next_business_day_on_or_after(country, rhythm.cash_day)
    for _ in range(CASH_DAY_BUSINESS_DAYS):
        if day == good:
            return True
        good = next_business_day_after(country, good)
    return False


@dataclass(frozen=True)
class CallDay:
    """Why `day` is a good day to call a dealer; both false: an ordinary day."""

    month_end: bool = False
    rhythm: ReorderRhythm | None = None  # set when the dealer has sold most of a delivery

    @property
    def good(self) -> bool:
        return self.month_end or self.rhythm is not None


def call_day(country: str, day: dt.date, rhythm: ReorderRhythm | None) -> CallDay:
    """The suggested-call-day reasons for a dealer on `day` (docs/PRACTICE.md §9)."""
    sold = rhythm if rhythm is not None and is_sold_through_day(country, day, rhythm) else None
    return CallDay(month_end=is_month_end_cash_day(country, day), rhythm=sold)

"""Calendar arithmetic the ledger and the workflow share."""

from __future__ import annotations

import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (earlier when negative); 29 February becomes
    28 February in a year without it, so that a period never runs past its month."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)

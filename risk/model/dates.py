"""Month arithmetic for as-of dates and label windows.

Monthly as-of dates are month-ends. Moving a month-end by n months gives the month-end of
the target month (2024-02-29 + 12 months = 2025-02-28); other days keep their day of the
month, clamped to the target month's length.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def month_end(year: int, month: int) -> date:
    """Last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def is_month_end(day: date) -> bool:
    """Whether ``day`` is the last day of its month."""
    return (day + timedelta(days=1)).day == 1


def shift_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` (negative: back); month-ends stay month-ends."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, last if is_month_end(day) else min(day.day, last))


def last_month_end_on_or_before(day: date) -> date:
    """The latest month-end that is not after ``day``."""
    return day if is_month_end(day) else date(day.year, day.month, 1) - timedelta(days=1)


def month_ends(first: date, last: date) -> list[date]:
    """Month-ends from the one ending ``first``'s month up to ``last`` (inclusive)."""
    out = []
    day = month_end(first.year, first.month)
    while day <= last:
        out.append(day)
        day = shift_months(day, 1)
    return out

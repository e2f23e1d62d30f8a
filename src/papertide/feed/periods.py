"""The spans the daily list is read by: a day, an ISO week or a month, as a URL names them.

A period knows its own query parameter (``?date=``, ``?week=``, ``?month=``), so the previous and
next links of a page are built from the period alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from papertide.feed.params import InvalidQuery


@dataclass(frozen=True)
class Period:
    """A day, an ISO week or a month of the daily list: ``[start, end)``."""

    kind: Literal["day", "week", "month"]
    start: date
    end: date  # exclusive
    key: str  # "2025-08-20", "2025-W34", "2025-08": the value of the query parameter
    label: str  # "Wed 20 Aug 2025", "18–24 Aug 2025", "August 2025"

    @property
    def param(self) -> str:
        """The query parameter that selects this period: date, week or month."""
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def query(self) -> dict[str, str]:
        return {self.param: self.key}


def day_period(day: date) -> Period:
    return Period("day", day, day + timedelta(days=1), day.isoformat(), day.strftime("%a %-d %b %Y"))


def week_period(day: date) -> Period:
    """The ISO week of ``day``, Monday to Sunday, labelled by its dates: a reader knows "10–16 Mar
    2025" at a glance, and "2025-W11" (still its URL key) hardly ever."""
    year, week, weekday = day.isocalendar()
    start = day - timedelta(days=weekday - 1)
    end = start + timedelta(days=7)
    return Period("week", start, end, f"{year}-W{week:02d}", date_span(start, end - timedelta(days=1)))


def date_span(first: date, last: date) -> str:
    """Days from ``first`` to ``last``, both included, said as briefly as is unambiguous:
    "10–16 Mar 2025", "28 Feb – 6 Mar 2025", "29 Dec 2025 – 4 Jan 2026", "7 Dec 2026"."""
    if first == last:
        return f"{last:%-d %b %Y}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last:%-d %b %Y}"
    if first.year == last.year:
        return f"{first:%-d %b} – {last:%-d %b %Y}"
    return f"{first:%-d %b %Y} – {last:%-d %b %Y}"


def month_period(day: date) -> Period:
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return Period("month", start, end, start.strftime("%Y-%m"), start.strftime("%B %Y"))


PERIOD_OF_KIND = {"day": day_period, "week": week_period, "month": month_period}


def parse_period(day: str | date | None = None, week: str | None = None, month: str | None = None) -> Period | None:
    """The period the query parameters name, None when none is given; ``InvalidQuery`` if malformed."""
    given = [v for v in (day, week, month) if v not in (None, "")]
    if len(given) > 1:
        raise InvalidQuery("give one of date, week or month, not several")
    try:
        if isinstance(day, date):
            return day_period(day)
        if day:
            return day_period(date.fromisoformat(_short(day)))
        if week:
            match = re.fullmatch(r"(\d{4})-?W(\d{1,2})", _short(week).upper())
            if not match:
                raise ValueError
            return week_period(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        if month:
            match = re.fullmatch(r"(\d{4})-(\d{1,2})", _short(month))
            if not match:
                raise ValueError
            return month_period(date(int(match[1]), int(match[2]), 1))
    except ValueError:
        raise InvalidQuery("dates are YYYY-MM-DD, weeks YYYY-Www (e.g. 2025-W09), months YYYY-MM") from None
    return None


def _short(text: str) -> str:
    return text.strip()[:20]

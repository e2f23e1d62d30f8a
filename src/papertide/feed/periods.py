"""The spans the daily list is read by: a day, an ISO week or a month, as a URL names them.

A period knows its own query parameter (``?date=``, ``?week=``, ``?month=``), so the previous and
next links of a page are built from the period alone.

The list is served for days from ``FIRST_DAY`` to ``LAST_DAY``: a URL naming a day outside them is
``InvalidQuery``, and stored dates outside them (ingest refuses them, but rows written before it
did, or by hand, may exist) are never offered as a period to step to. The constructors themselves
clamp at the ends of Python's calendar instead of overflowing, so no stored date can make a page fail.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from papertide.feed.params import InvalidQuery

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
RANGE_TEXT = f"dates run from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
FORMATS_TEXT = "dates are YYYY-MM-DD, weeks YYYY-Www (e.g. 2025-W09), months YYYY-MM"

# The API's schema for the three parameters: the served years only, so a request the schema allows
# is one the list answers (week 53 of a 52-week year aside: that is NoSuchPeriod, a 404).
DAY_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
WEEK_PATTERN = r"^(19|2[0-9])[0-9]{2}-W(0[1-9]|[1-4][0-9]|5[0-3])$"
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
# What parse_period reads: strictly (the API: the shapes above, any year, so a year outside the
# range gets the range's message) or leniently (pages).
_STRICT = {"day": r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "week": r"([0-9]{4})-W([0-9]{2})", "month": r"([0-9]{4})-([0-9]{2})"}
_LENIENT = {"week": r"(\d{4})-?W(\d{1,2})", "month": r"(\d{4})-(\d{1,2})"}


class NoSuchPeriod(InvalidQuery):
    """A well-formed period that the calendar does not have (week 53 of a year with 52)."""


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


def shift(day: date, days: int) -> date:
    """``day`` moved by ``days``, held at the first or last day Python knows instead of overflowing."""
    ordinal = day.toordinal() + days
    return date.fromordinal(min(max(ordinal, date.min.toordinal()), date.max.toordinal()))


def in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def day_period(day: date) -> Period:
    return Period("day", day, shift(day, 1), day.isoformat(), day.strftime("%a %-d %b %Y"))


def week_period(day: date) -> Period:
    """The ISO week of ``day``, Monday to Sunday, labelled by its dates: a reader knows "10–16 Mar
    2025" at a glance, and "2025-W11" (still its URL key) hardly ever."""
    year, week, weekday = day.isocalendar()
    start = shift(day, 1 - weekday)
    end = shift(start, 7)
    return Period("week", start, end, f"{year}-W{week:02d}", date_span(start, shift(end, -1)))


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
    end = shift(start, calendar.monthrange(start.year, start.month)[1])
    return Period("month", start, end, start.strftime("%Y-%m"), start.strftime("%B %Y"))


PERIOD_OF_KIND = {"day": day_period, "week": week_period, "month": month_period}


def parse_period(day: str | date | None = None, week: str | None = None, month: str | None = None, *,
                 strict: bool = False) -> Period | None:
    """The period the query parameters name, None when none is given; ``InvalidQuery`` if malformed
    or outside the served range, ``NoSuchPeriod`` for week 53 of a year that has 52.

    Pages read leniently (spaces, ``2025W9``, ``2025-8``) and refuse several periods at once; the API
    is ``strict``: exactly the shapes its OpenAPI schema gives (``DAY_PATTERN``...), an empty value is
    malformed, and of several periods the shortest counts (date, then week, then month), so that
    what the schema allows is what it answers.
    """
    if strict:
        named = [(kind, value) for kind, value in (("day", day), ("week", week), ("month", month)) if value is not None]
        if not all(_strict_shape(kind, value) for kind, value in named):
            raise InvalidQuery(FORMATS_TEXT)
        periods = [parse_period(**{kind: value}) for kind, value in named]  # each must be valid
        return periods[0] if periods else None
    given = [v for v in (day, week, month) if v not in (None, "")]
    if len(given) > 1:
        raise InvalidQuery("give one of date, week or month, not several")
    shapes = _STRICT if strict else _LENIENT
    try:
        if isinstance(day, date):
            period = day_period(day)
        elif day:
            period = day_period(parse_day(day, strict=strict))
        elif week:
            match = re.fullmatch(shapes["week"], week if strict else _short(week).upper())
            if not match:
                raise ValueError
            period = week_period(_iso_week_monday(int(match[1]), int(match[2])))
        elif month:
            match = re.fullmatch(shapes["month"], month if strict else _short(month))
            if not match:
                raise ValueError
            period = month_period(date(int(match[1]), int(match[2]), 1))
        else:
            return None
    except InvalidQuery:
        raise
    except ValueError:
        raise InvalidQuery(FORMATS_TEXT) from None
    if not (in_range(period.start) and in_range(shift(period.end, -1))):
        raise InvalidQuery(f"{RANGE_TEXT}; {period.key} is outside them")
    return period


def _strict_shape(kind: str, value) -> bool:
    """Whether a value has the API's exact shape for its kind (``_STRICT``)."""
    return isinstance(value, date) or (isinstance(value, str) and re.fullmatch(_STRICT[kind], value) is not None)


def _iso_week_monday(year: int, week: int) -> date:
    if week == 53 and 1 <= year <= 9999 and date(year, 12, 28).isocalendar()[1] == 52:
        raise NoSuchPeriod(f"{year} has 52 ISO weeks, so no week 53")
    return date.fromisocalendar(year, week, 1)


def parse_day(text: str, *, strict: bool = False) -> date:
    """A ``YYYY-MM-DD`` day of the served range; ``InvalidQuery`` otherwise."""
    try:
        if strict and not re.fullmatch(_STRICT["day"], text):
            raise ValueError
        day = date.fromisoformat(text if strict else _short(text))
    except ValueError:
        raise InvalidQuery("dates are YYYY-MM-DD") from None
    if not in_range(day):
        raise InvalidQuery(f"{RANGE_TEXT}; {day.isoformat()} is outside them")
    return day


def _short(text: str) -> str:
    return text.strip()[:20]

"""Digest period keys and the send schedule, as pure functions of a date or a passed-in clock (the
worker sends digests at those times: tests/worker/test_digests_and_backups.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from papertide.digest.periods import DigestPeriod
from papertide.digest.schedule import next_run_at, parse_send_time, parse_timezone, periods_due

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def test_period_keys_are_stable_and_round_trip():
    assert DigestPeriod.containing("daily", date(2026, 11, 24)).key == "daily:2026-11-24"
    week = DigestPeriod.containing("weekly", date(2026, 11, 26))
    assert (week.key, week.start, week.end) == ("weekly:2026-W48", date(2026, 11, 23), date(2026, 11, 29))
    # ISO weeks cross years: 2026-12-31 is in week 53 of 2026, 2027-01-01 too.
    assert DigestPeriod.containing("weekly", date(2027, 1, 1)).key == "weekly:2026-W53"
    for period in (week, DigestPeriod.containing("daily", date(2024, 2, 29)), DigestPeriod.containing("weekly", date(2027, 1, 1))):
        assert DigestPeriod.from_key(period.key) == period
    assert DigestPeriod.containing("weekly", date(2026, 8, 17)).label == "week 34, 17–23 August 2026"
    with pytest.raises(ValueError):
        DigestPeriod.from_key("monthly:2026-11")


def test_last_complete_period_is_yesterday_or_last_week():
    assert DigestPeriod.last_complete("daily", date(2026, 11, 24)).key == "daily:2026-11-23"
    assert DigestPeriod.last_complete("weekly", date(2026, 11, 23)).key == "weekly:2026-W47"  # on Monday: the week just over
    assert DigestPeriod.last_complete("weekly", date(2026, 11, 29)).key == "weekly:2026-W47"  # on Sunday: still last week


def test_next_run_is_the_next_local_send_time():
    seven = time(7, 0)
    before = datetime(2026, 11, 24, 5, 59, tzinfo=UTC)  # 06:59 in Paris (UTC+1)
    assert next_run_at(before, seven, PARIS) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    at = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # exactly 07:00: the next one is tomorrow
    assert next_run_at(at, seven, PARIS) == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # UTC+2 in summer
    assert next_run_at(summer, seven, PARIS) == datetime(2026, 7, 2, 5, 0, tzinfo=UTC)


def test_daylight_saving_changes_keep_the_local_time():
    seven = time(7, 0)
    # Paris springs forward on 2026-03-29: the send stays at 07:00 local, one hour earlier in UTC.
    assert next_run_at(datetime(2026, 3, 28, 7, 0, tzinfo=UTC), seven, PARIS) == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)
    # A send time inside the skipped hour (02:30 does not exist that day) still happens once, at 03:30.
    skipped = next_run_at(datetime(2026, 3, 29, 0, 0, tzinfo=UTC), time(2, 30), PARIS)
    assert skipped == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert skipped.astimezone(PARIS).hour == 3


def test_mondays_also_send_the_weekly_digest():
    monday = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert [p.key for p in periods_due(monday, PARIS)] == ["daily:2026-11-22", "weekly:2026-W47"]
    assert [p.key for p in periods_due(datetime(2026, 11, 24, 6, 0, tzinfo=UTC), PARIS)] == ["daily:2026-11-23"]


def test_bad_schedule_settings_are_explained():
    with pytest.raises(ValueError, match="HH:MM"):
        parse_send_time("7am")
    with pytest.raises(ValueError, match="IANA"):
        parse_timezone("Mars/Olympus")

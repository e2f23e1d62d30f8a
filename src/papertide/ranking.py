"""Ranking: pure functions of (votes, times, now), so they are tested with a clock passed in.

Trending follows Hacker News: ``points / (age_hours + 2) ** gravity``. A paper climbs while votes
arrive faster than its age grows and sinks once they slow down; a new paper with a few quick votes
outranks an old one with many. ``gravity`` sets how fast age wins: 1.5 lets a strong paper hold the
top for about two days, which suits a daily list that people visit each morning.
"""

from __future__ import annotations

from datetime import datetime

GRAVITY = 1.5
OFFSET_HOURS = 2.0


def age_hours(since: datetime, now: datetime) -> float:
    """Hours from ``since`` to ``now``, never negative (clock skew does not boost a paper)."""
    return max((now - since).total_seconds() / 3600.0, 0.0)


def trending_score(points: int, since: datetime, now: datetime, *, gravity: float = GRAVITY) -> float:
    """How hot a paper is at ``now``, given its ``points`` (upvotes) since it went up at ``since``."""
    return max(points, 0) / (age_hours(since, now) + OFFSET_HOURS) ** gravity

from datetime import datetime, timedelta, timezone

from papertide.ranking import age_hours, trending_score

NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)


def test_more_votes_rank_higher_at_the_same_age():
    since = NOW - timedelta(hours=5)
    assert trending_score(20, since, NOW) > trending_score(10, since, NOW)


def test_score_decays_with_age_for_the_same_votes():
    scores = [trending_score(50, NOW - timedelta(hours=h), NOW) for h in (0, 6, 24, 72, 240)]
    assert scores == sorted(scores, reverse=True)
    assert scores[-1] < scores[0] / 50


def test_a_fresh_paper_with_few_votes_beats_an_old_one_with_many():
    assert trending_score(8, NOW - timedelta(hours=3), NOW) > trending_score(100, NOW - timedelta(days=10), NOW)


def test_future_timestamps_do_not_boost():
    assert age_hours(NOW + timedelta(hours=3), NOW) == 0
    assert trending_score(5, NOW + timedelta(hours=3), NOW) == trending_score(5, NOW, NOW)


def test_negative_points_score_zero():
    assert trending_score(-4, NOW, NOW) == 0

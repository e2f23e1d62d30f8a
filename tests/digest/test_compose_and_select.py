"""What goes into a digest, and how it is written: selection, escaping, headers, tokens."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from papertide.catalog.models import DailyEntry, Paper
from papertide.catalog.record import PaperRecord
from papertide.catalog.upsert import upsert_papers
from papertide.digest.compose import Composer, PaperCache, body_of, one_line
from papertide.digest.models import Subscription
from papertide.digest.select import PaperSelector, keyword_matcher
from papertide.digest.tokens import DigestTokens
from papertide.ranking import trending_score

from .conftest import MONDAY, make_settings


def sub(**fields) -> Subscription:
    base = dict(id=1, email="r@example.org", content="trending", topics=[], follow_organizations=[], follow_authors=[],
                max_papers=10, frequency="daily")
    return Subscription(**{**base, **fields})


def test_trending_follows_the_ranking_score_as_of_the_period_end(papers):
    selector = PaperSelector(papers, MONDAY)
    assert len(selector.candidates) == 23
    end = datetime(2026, 8, 18, tzinfo=timezone.utc)
    scores = [trending_score(c.upvotes, c.submitted_at, end) for c in sorted(selector.candidates, key=lambda c: selector.trending.index(c.id))]
    assert scores == sorted(scores, reverse=True)
    assert selector.papers_for(sub(max_papers=3)) == selector.trending[:3]


def test_a_weeks_trending_papers_are_its_most_upvoted(papers):
    from .conftest import WEEK

    selector = PaperSelector(papers, WEEK)
    assert len(selector.candidates) == 108
    upvotes = {c.id: c.upvotes for c in selector.candidates}
    ranked = [upvotes[i] for i in selector.trending]
    assert ranked == sorted(ranked, reverse=True)


def test_hidden_papers_never_reach_a_digest(papers):
    top = PaperSelector(papers, MONDAY).trending[0]
    with papers.session() as session:
        session.get(Paper, top).hidden = True
    assert top not in PaperSelector(papers, MONDAY).trending


def test_interests_match_organisations_authors_and_topics(papers):
    selector = PaperSelector(papers, MONDAY, topic_matcher=keyword_matcher)
    by_id = {c.id: c for c in selector.candidates}
    org = next(c.organization for c in selector.candidates if c.organization)
    author = selector.candidates[5].authors[0]
    from_org = selector.papers_for(sub(content="interests", follow_organizations=[org.upper()]))
    assert from_org and all(by_id[i].organization == org for i in from_org)
    by_author = selector.papers_for(sub(content="interests", follow_authors=[author.lower()]))
    assert selector.candidates[5].id in by_author
    topic = selector.papers_for(sub(content="interests", topics=["agent"]))
    assert topic and all("agent" in (by_id[i].title + by_id[i].abstract).lower() for i in topic)
    both = selector.papers_for(sub(content="both", topics=["agent"], max_papers=23))
    assert both[:len(topic)] == topic and sorted(both) == sorted(selector.trending)


def test_keyword_matching_needs_every_word_and_prefers_titles():
    from papertide.digest.select import Candidate

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    papers = [
        Candidate(1, "A survey", "video generation with diffusion", (), None, 50, when),
        Candidate(2, "Video generation at scale", "we scale it", (), None, 1, when),
        Candidate(3, "Video models", "no generating here", (), None, 99, when),
    ]
    assert keyword_matcher("video generation", papers, None) == [2, 1]


def test_hostile_titles_are_escaped_in_html_and_one_line_summaries_are_short(database):
    record = PaperRecord.model_validate({
        "arxiv_id": "2608.00001", "title": "Thinking with <think> & \"quotes\"", "authors": ["A. Author"],
        "abstract": "First sentence ends here. Then " + "word " * 200, "daily": {"date": "2026-08-17"},
    })
    with database.session() as session:
        upsert_papers(session, [record])
        paper_id = session.scalar(select(DailyEntry.paper_id))
    settings = make_settings(database, 25)
    composer = Composer(settings)
    papers = PaperCache(database, composer.base_url).get([paper_id])
    message = composer.digest(subscription_id=1, email="r@example.org", period=MONDAY, papers=papers)
    body = body_of(message, "html")
    assert "Thinking with &lt;think&gt; &amp; &#34;quotes&#34;" in body and "<think>" not in body
    assert papers[0].summary == "First sentence ends here."
    assert len(one_line("x " * 500)) <= 221


def test_email_links_are_signed_per_purpose_and_per_address():
    tokens = DigestTokens("secret")
    unsubscribe = tokens.unsubscribe(7, "a@example.org")
    assert tokens.read_unsubscribe(unsubscribe).subscription_id == 7
    import pytest

    from papertide.digest.tokens import InvalidToken

    with pytest.raises(InvalidToken):
        tokens.read_manage(unsubscribe)
    with pytest.raises(InvalidToken):
        DigestTokens("another secret").read_unsubscribe(unsubscribe)
    with pytest.raises(InvalidToken):
        tokens.read_confirm(tokens.confirm(7, "a@example.org"), max_age=-1)


def test_topics_go_through_the_search_service(papers):
    from papertide.digest.select import search_service_matcher

    selector = PaperSelector(papers, MONDAY)
    matched = search_service_matcher(papers)("agent", selector.candidates, MONDAY)
    by_id = {c.id: c for c in selector.candidates}
    assert matched and set(matched) <= set(by_id)  # only papers of the period
    assert "agent" in (by_id[matched[0]].title + by_id[matched[0]].abstract).lower()


def test_topics_fall_back_to_keywords_when_the_search_backend_fails(papers):
    def broken(topic, candidates, period):
        raise RuntimeError("index unavailable")

    selector = PaperSelector(papers, MONDAY, topic_matcher=broken)
    expected = keyword_matcher("agent", selector.candidates, MONDAY)
    assert expected and sorted(selector.interests(["agent"], [], [])) == sorted(expected)


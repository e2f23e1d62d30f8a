"""The feed: the read model of the daily list, the questions pages, the API and feeds ask.

It sits above community and below digest, web and cli: what a reader sees of a paper in a list
(its upvotes, comments, submitter) joins the catalog with what people did, and catalog must not
know about people. What needs the catalog alone (arXiv ids, organisations, BibTeX, content
versions) stays in ``papertide.catalog``.

Each function takes a session and returns plain, detached values (ORM rows with what they need
already loaded, inside small frozen dataclasses), so results can be cached across requests.
Anything that depends on time takes ``now`` explicitly. Hidden papers never appear, except in
``paper.get_paper_detail(..., include_hidden=True)`` for moderators. Caches key on
``catalog.versions``, which every vote, comment, submission and moderation action bumps.

    params.py         sorts, pages and limits a request may ask for; ``InvalidQuery``
    periods.py        a day, an ISO week or a month, as a URL names them
    items.py          ``FeedItem``, and the one way lists load and sort items; ``items_by_ids``
    daily.py          the daily list by period, and the newest submissions
    trends.py         trending and rising
    paper.py          one paper: its item, detail and upvotes over time
    organizations.py  an organisation's page
    authors.py        an author's page, found by any spelling of the name
    signals.py        what a reader gave: upvotes, saved papers, follows
    vectors.py        paper embeddings read for ranking (``paper_embeddings``)
    for_you.py        the "For you" ranking, shared with the interests digest
"""

from papertide.feed.authors import AuthorPage, author_page
from papertide.feed.daily import FeedPage, daily_feed, latest_daily_date, periods_with_papers, recent_feed
from papertide.feed.for_you import ForYouPage, Reason, for_you
from papertide.feed.items import FeedItem, items_by_ids, items_by_paper_ids, sort_items
from papertide.feed.organizations import OrganizationPage, organization_page
from papertide.feed.paper import (PaperDetail, VotePoint, get_paper_detail, get_paper_item, newest_title,
                                  votes_over_time)
from papertide.feed.params import MAX_LIMIT, MAX_QUERY, SORTS, InvalidQuery, normalise_sort
from papertide.feed.periods import (DAY_PATTERN, FIRST_DAY, LAST_DAY, MONTH_PATTERN, WEEK_PATTERN, NoSuchPeriod, Period,
                                    date_span, day_period, month_period, parse_day, parse_period, week_period)
from papertide.feed.trends import RisingItem, Window, recent_days, rising, trending, trending_window

__all__ = [
    "AuthorPage", "ForYouPage", "Reason", "author_page", "for_you", "items_by_paper_ids",
    "DAY_PATTERN", "FIRST_DAY", "LAST_DAY", "MAX_LIMIT", "MAX_QUERY", "MONTH_PATTERN", "NoSuchPeriod", "WEEK_PATTERN",
    "SORTS", "FeedItem", "FeedPage", "InvalidQuery", "OrganizationPage", "PaperDetail",
    "Period", "RisingItem", "VotePoint", "Window", "daily_feed", "date_span", "day_period", "get_paper_detail",
    "get_paper_item", "items_by_ids", "newest_title", "latest_daily_date", "month_period", "normalise_sort", "organization_page",
    "parse_day", "parse_period", "periods_with_papers", "recent_days", "recent_feed", "rising", "sort_items", "trending",
    "trending_window", "votes_over_time", "week_period",
]

"""TEMPORARY, to be removed when the search restructuring merges: the names ``search/papers.py``
still imports from here. The read model moved to ``papertide.feed``, above community, and
``normalise_arxiv_id`` to ``catalog.arxiv_ids``. Import them from there; add nothing here.
"""

from papertide.catalog.arxiv_ids import normalise_arxiv_id
from papertide.feed.items import FeedItem, items_by_ids
from papertide.feed.params import MAX_LIMIT, MAX_QUERY

__all__ = ["MAX_LIMIT", "MAX_QUERY", "FeedItem", "items_by_ids", "normalise_arxiv_id"]

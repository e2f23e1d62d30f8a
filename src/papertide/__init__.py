"""papertide: a self-hostable research-paper discovery service.

Layers, from the bottom up (nothing imports a layer above it):

    config, db            settings and the database engine
    catalog               papers, organisations, the daily list; the one door in (upsert)
    ingest                sources that turn feeds and files into PaperRecords
    search, ranking       hybrid search and trending, read-only services over the catalog
    community, digest     accounts, votes, comments; email digests through an outbox
    web, cli              the ways in for people and programs
"""

__version__ = "0.1.0"

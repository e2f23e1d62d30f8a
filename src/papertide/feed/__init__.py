"""The feed: the read model of the daily list, above community and below digest, web and cli.

What a reader sees of a paper in a list (its upvotes, comments and submitter) joins the catalog
with what people did, so it cannot live in catalog, which must not know about community.
"""

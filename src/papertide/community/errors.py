"""What community services raise when a request cannot be honoured, with a message for people."""

from __future__ import annotations

from datetime import date


class CommunityError(ValueError):
    """A request that breaks a community rule; ``str(error)`` is safe to show the user."""

    status = 400


class NotFound(CommunityError):
    status = 404


class Forbidden(CommunityError):
    status = 403


class Blocked(Forbidden):
    """The account is blocked by a moderator; said only to someone who gave its right password."""


class Conflict(CommunityError):
    status = 409


class AlreadyListed(Conflict):
    """The paper is on the daily list already: which paper and which day, so a page can link there."""

    def __init__(self, arxiv_id: str, daily_date: date):
        super().__init__(f"{arxiv_id} is already on the daily list of {daily_date.isoformat()}")
        self.arxiv_id, self.daily_date = arxiv_id, daily_date


class Unavailable(CommunityError):
    """Something papertide depends on (arXiv) did not answer; trying again later may work."""

    status = 503

"""The JSON API's answers, as OpenAPI documents them (``/openapi.json``, ``/docs``).

Routes build their answers with ``hf_shapes`` and send them with orjson (fast, and the shapes
leave out empty optional fields as Hugging Face does); these models are the contract those answers
keep, checked by the schemathesis pass in the test suite. Names and nesting follow Hugging Face's
papers API, so its client reads them; papertide's own endpoints use the same style.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from papertide.digest.subscriptions import Preferences

Absent = Field(None, description="left out when empty")


class Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class UserRef(Model):
    id: str = Field(alias="_id")
    avatarUrl: str
    fullname: str
    user: str
    name: str
    type: Literal["user"]
    isPro: bool


class OrganizationRef(Model):
    id: str = Field(alias="_id")
    name: str = Field(description="the organisation's slug")
    fullname: str
    avatar: str


class Author(Model):
    id: str = Field(alias="_id")
    name: str
    hidden: bool


class Paper(Model):
    id: str = Field(description="arXiv id, without version; or a local id (local-...) for a paper not on arXiv")
    authors: list[Author]
    publishedAt: datetime = Absent
    submittedOnDailyAt: datetime = Absent
    title: str
    submittedOnDailyBy: UserRef = Absent
    summary: str = Absent
    upvotes: int
    discussionId: str
    projectPage: str = Absent
    githubRepo: str = Absent
    githubStars: int = Absent
    ai_summary: str = Absent
    ai_keywords: list[str] = Absent
    organization: OrganizationRef = Absent


class PaperWithCounts(Paper):
    numComments: int


class DailyItem(Model):
    paper: Paper
    publishedAt: datetime = Absent
    title: str
    summary: str = Absent
    numComments: int
    submittedBy: UserRef = Absent
    organization: OrganizationRef = Absent
    isAuthorParticipating: bool
    thumbnail: None = Field(description="always null: papertide draws no thumbnails")


class TrendingItem(DailyItem):
    trendingScore: float


class VotePoint(Model):
    date: str = Field(description="YYYY-MM-DD")
    votes: int = Field(description="papertide votes cast that day")
    total: int = Field(description="upvotes at the end of that day, imported ones included")


class VoteHistory(Model):
    id: str
    upvotes: int
    points: list[VotePoint]


class Comment(Model):
    id: int
    author: UserRef | None
    body: str = Field(description="as written (Markdown)")
    html: str = Field(description="rendered and sanitised")
    createdAt: datetime
    parentId: int | None
    state: Literal["shown", "deleted", "removed", "withheld"] = Field(
        description="shown; deleted by its author (a placeholder kept for its replies); removed by a moderator; "
                    "withheld (its author is blocked)")
    editedAt: datetime | None = Field(description="when its author last edited it")
    removedReason: str | None = Field(description="the moderator's reason, for a removed comment")


class VoteResult(Model):
    id: str
    voted: bool = Field(description="whether you upvote the paper now")
    upvotes: int


class SessionInfo(Model):
    user: UserRef | None
    isAdmin: bool
    csrfToken: str = Field(description="send as X-CSRF-Token with POSTs made with this session's cookie")


class Submission(Model):
    id: str
    fetched: bool = Field(description="true when the paper was fetched from arXiv, not already in the catalog")
    date: str = Field(description="the day of the daily list it is on, YYYY-MM-DD")


class QueuedSubmission(Model):
    id: str = Field(description="the arXiv id, without version")
    status: Literal["queued"] = Field(description="waiting for arXiv; the submit page shows when it is added")


class Subscription(Preferences):
    """Your digest subscription (``/api/subscriptions/mine``)."""

    email: str
    status: Literal["pending", "confirmed", "bounced"]


class WhoAmI(Model):
    type: Literal["user"]
    name: str
    fullname: str
    isAdmin: bool
    auth: dict = Field(description='{"type": "access_token", "accessToken": {"displayName", "role"}} for a token')

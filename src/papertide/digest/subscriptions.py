"""Subscriptions: double opt-in, preferences, unsubscribe and bounces.

Nothing is ever sent to an address before its owner clicked the signed confirmation link. The
subscribe form answers the same whatever the address's state, so it cannot be used to learn who
subscribes; confirmation emails to one address are rate-limited so it cannot flood an inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from papertide.catalog.text import clean_text
from papertide.community import ratelimit
from papertide.config import Settings
from papertide.db import Database
from papertide.digest.models import Subscription
from papertide.orm import parse_id, utcnow

RESEND_INTERVAL = timedelta(minutes=10)
MAX_PAPERS = 50
MAX_INTERESTS = 20
MAX_INTEREST_LENGTH = 200


class SubscriptionError(ValueError):
    """Input a person can fix: shown to them as is."""


# An entry must have a character that clean_text keeps (not whitespace, not a control, not a bidi
# control): the JSON schema says so with this pattern, and _interests refuses what cleaning would
# empty, so the API accepts exactly what its schema allows. It mirrors catalog.text.clean_text
# (which also drops lone surrogates, which no JSON schema can carry); change both together.
VISIBLE = "[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200b\u2028-\u202f\u205f\u2066-\u2069\u3000\ufeff\ufffe\uffff]"
Interest = Annotated[str, Field(max_length=MAX_INTEREST_LENGTH, pattern=VISIBLE)]


def _interests(values: list[str]) -> list[str]:
    """Cleaned, without repeats; checked as given (length, count), so a check means what it says."""
    if len(values) > MAX_INTERESTS:
        raise ValueError(f"at most {MAX_INTERESTS} entries")
    seen: dict[str, str] = {}
    for value in values:
        text = clean_text(value)
        if not text:
            raise ValueError("an entry is empty")
        seen.setdefault(text.casefold(), text)
    return list(seen.values())


# "interests" needs at least one of them: in the schema too, so that clients (and generated tests)
# know it before sending.
_SOME_INTEREST = {"anyOf": [
    {"properties": {"content": {"enum": ["trending", "both"]}}},
    *({"required": [name], "properties": {name: {"minItems": 1}}} for name in ("topics", "organizations", "authors")),
]}


class Preferences(BaseModel):
    """What a reader wants in their digest."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_SOME_INTEREST)

    frequency: Literal["daily", "weekly"] = "daily"
    content: Literal["trending", "interests", "both"] = "trending"
    topics: list[Interest] = Field(default_factory=list, max_length=MAX_INTERESTS,
                                   description="free-text topics, run through search")
    organizations: list[Interest] = Field(default_factory=list, max_length=MAX_INTERESTS, description="organisation slugs (or names, as typed; digest.interests resolves them)")
    authors: list[Interest] = Field(default_factory=list, max_length=MAX_INTERESTS,
                                    description="author names as on the papers")
    max_papers: int = Field(10, ge=1, le=MAX_PAPERS)

    @field_validator("topics", "organizations", "authors")
    @classmethod
    def _clean(cls, values: list[str]) -> list[str]:
        return _interests(values)

    @model_validator(mode="after")
    def _interests_given(self) -> "Preferences":
        if self.content == "interests" and not (self.topics or self.organizations or self.authors):
            raise ValueError("papers matching your interests needs at least one topic, organisation or author")
        return self

    @classmethod
    def of(cls, subscription: Subscription) -> "Preferences":
        return cls(
            frequency=subscription.frequency, content=subscription.content, topics=subscription.topics,
            organizations=subscription.follow_organizations, authors=subscription.follow_authors,
            max_papers=subscription.max_papers,
        )

    def apply(self, subscription: Subscription) -> None:
        subscription.frequency = self.frequency
        subscription.content = self.content
        subscription.topics = list(self.topics)
        subscription.follow_organizations = list(self.organizations)
        subscription.follow_authors = list(self.authors)
        subscription.max_papers = self.max_papers


def normalize_email(raw: str) -> str:
    """The address as it will be stored and compared; a clear error for anything unusable."""
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise SubscriptionError(f"That email address does not look right: {error}") from error


@dataclass(frozen=True)
class SubscribeRequest:
    """What a subscribe request led to: which email (if any) should go out now."""

    subscription_id: int
    email: str
    send: Literal["confirm", "already_subscribed"] | None


def request_subscription(
    database: Database, email: str, preferences: Preferences, *, user_id: int | None = None, now: datetime | None = None
) -> SubscribeRequest:
    """Record a wish to subscribe. A confirmed subscription's preferences are not changed here:
    the request is not authenticated, so it only earns the owner a reminder with a link to manage it."""
    now = now or utcnow()
    email = normalize_email(email)
    for _ in range(2):  # a concurrent insert of the same address: read it back and go on
        try:
            with database.session() as session:
                subscription = session.scalars(select(Subscription).where(Subscription.email == email)).one_or_none()
                if subscription is None:
                    subscription = Subscription(email=email, status="pending", user_id=user_id, created_at=now)
                    preferences.apply(subscription)
                    session.add(subscription)
                    session.flush()
                elif subscription.status != "confirmed":
                    preferences.apply(subscription)
                    subscription.status = "pending"
                    subscription.user_id = subscription.user_id or user_id
                recent = subscription.confirmation_sent_at and now - subscription.confirmation_sent_at < RESEND_INTERVAL
                kind = None if recent else ("already_subscribed" if subscription.status == "confirmed" else "confirm")
                return SubscribeRequest(subscription.id, email, kind)
        except IntegrityError:
            continue
    raise SubscriptionError("please try again")


def mark_confirmation_sent(database: Database, subscription_id: int, now: datetime | None = None) -> None:
    with database.session() as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is not None:
            subscription.confirmation_sent_at = now or utcnow()


def _linked(session, subscription_id: int, email: str) -> Subscription | None:
    """The subscription a signed link names, if it still belongs to the address the link was made for."""
    subscription = session.get(Subscription, subscription_id)
    return subscription if subscription is not None and subscription.email == email else None


def confirm(database: Database, subscription_id: int, email: str, now: datetime | None = None) -> Subscription | None:
    """Confirm from a verified link (idempotent). None when the link no longer matches a subscription."""
    with database.session() as session:
        subscription = _linked(session, subscription_id, email)
        if subscription is None:
            return None
        if subscription.status != "confirmed":
            subscription.status = "confirmed"
            subscription.confirmed_at = now or utcnow()
            subscription.unsubscribed_at = None
            subscription.bounce_reason = None
        return subscription


def unsubscribe(database: Database, subscription_id: int, email: str, now: datetime | None = None) -> bool:
    """Stop all digests to the address (idempotent). False when the link matches nothing."""
    with database.session() as session:
        subscription = _linked(session, subscription_id, email)
        if subscription is None:
            return False
        if subscription.status != "unsubscribed":
            subscription.status = "unsubscribed"
            subscription.unsubscribed_at = now or utcnow()
        return True


def update_preferences(database: Database, subscription_id: int, preferences: Preferences) -> Subscription | None:
    with database.session() as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is not None:
            preferences.apply(subscription)
        return subscription


def get(database: Database, subscription_id: int) -> Subscription | None:
    with database.session() as session:
        return session.get(Subscription, subscription_id)


def for_user(database: Database, user_id: int, email: str | None) -> Subscription | None:
    """A logged-in user's subscription: linked to the account, or made earlier with its address."""
    with database.session() as session:
        found = session.scalars(select(Subscription).where(Subscription.user_id == user_id)).first()
        if found is None and email:
            found = session.scalars(select(Subscription).where(Subscription.email == email.lower())).first()
            if found is None:
                try:
                    normalized = normalize_email(email)
                except SubscriptionError:
                    return None
                found = session.scalars(select(Subscription).where(Subscription.email == normalized)).first()
        return found


def account_email(database: Database, user_id: int) -> str | None:
    """The address of a papertide account, offered for its digest."""
    from papertide.community.models import User

    with database.session() as session:
        return session.scalar(select(User.email).where(User.id == user_id))


def find(database: Database, id_or_email: str) -> Subscription | None:
    with database.session() as session:
        if id_or_email.isascii() and id_or_email.isdigit():
            subscription_id = parse_id(id_or_email)
            return session.get(Subscription, subscription_id) if subscription_id else None
        return session.scalars(select(Subscription).where(Subscription.email == id_or_email.strip())).first()


def listing(database: Database, status: str | None = None, limit: int = 100) -> list[Subscription]:
    with database.session() as session:
        query = select(Subscription).order_by(Subscription.id).limit(limit)
        if status:
            query = query.where(Subscription.status == status)
        return list(session.scalars(query))


def counts(database: Database) -> dict[str, int]:
    with database.session() as session:
        rows = session.execute(
            select(Subscription.status, Subscription.frequency, func.count()).group_by(Subscription.status, Subscription.frequency)
        )
        result: dict[str, int] = {}
        for status, frequency, count in rows:
            result[f"{status} {frequency}"] = count
        return result


def subscribe(
    database: Database, settings: Settings, email: str, preferences: Preferences, *, user_id: int | None = None, mailer=None,
    now: datetime | None = None,
) -> SubscribeRequest:
    """Record the request and send the confirmation (or reminder) email it calls for.

    Raises ``SubscriptionError`` for a bad address, ``delivery.DeliveryError`` when the email could
    not be handed to the SMTP server, and ``ratelimit.RateLimited`` when the site already sent its
    hourly share of confirmation emails (a cap on what anyone can make it send to strangers). In
    the last two cases the request is kept, and asking again later sends the email.
    """
    from papertide.digest.compose import Composer
    from papertide.digest.delivery import SmtpMailer

    now = now or utcnow()
    request = request_subscription(database, email, preferences, user_id=user_id, now=now)
    if request.send is None:
        return request
    with database.session() as session:
        ratelimit.hit(session, "confirmation_email", "site", now=now, scale=settings.rate_limit_scale)
    composer = Composer(settings)
    message = (composer.confirmation if request.send == "confirm" else composer.already_subscribed)(
        request.subscription_id, request.email
    )
    own_mailer = mailer is None
    mailer = mailer or SmtpMailer(settings)
    try:
        mailer.send(message, request.email)
    finally:
        if own_mailer:
            mailer.close()
    mark_confirmation_sent(database, request.subscription_id, now)
    return request

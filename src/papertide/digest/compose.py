"""Building digest and confirmation emails: multipart (plain text + HTML), RFC 8058 headers.

Messages are built with the standard library's ``EmailMessage``; the two parts are rendered from
Jinja2 templates in ``templates/email/``. The HTML is a single-column table layout with inline
styles, which is what renders the same in Gmail, Outlook and Apple Mail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select

from papertide.catalog.models import Organization, Paper
from papertide.config import Settings
from papertide.db import Database
from papertide.digest.periods import Period
from papertide.digest.tokens import DigestTokens
from papertide.orm import utcnow

# SMTP line endings; headers folded only past 998 characters, so that the List-Unsubscribe URL stays
# one token (the default 78 would turn it into an RFC 2047 encoded word that mail clients ignore).
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
SUMMARY_LENGTH = 220
AUTHORS_SHOWN = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


@dataclass(frozen=True)
class DigestPaper:
    """A paper as a digest shows it."""

    id: int
    arxiv_id: str
    title: str
    url: str
    byline: str
    upvotes: int
    summary: str


def one_line(text: str, limit: int = SUMMARY_LENGTH) -> str:
    """The first sentence of ``text``, cut at a word boundary when longer than ``limit``."""
    text = " ".join((text or "").split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def byline(authors: Sequence[str], organization: str | None) -> str:
    names = ", ".join(authors[:AUTHORS_SHOWN]) + (" et al." if len(authors) > AUTHORS_SHOWN else "")
    return " · ".join(part for part in (names, organization) if part)


class PaperCache:
    """Digest papers by id, each loaded from the database once per run."""

    def __init__(self, database: Database, base_url: str):
        self._database = database
        self._base_url = base_url
        self._papers: dict[int, DigestPaper] = {}

    def get(self, ids: Iterable[int]) -> list[DigestPaper]:
        ids = list(ids)
        missing = [paper_id for paper_id in ids if paper_id not in self._papers]
        if missing:
            self._load(missing)
        return [self._papers[paper_id] for paper_id in ids if paper_id in self._papers]

    def _load(self, ids: list[int]) -> None:
        with self._database.session() as session:
            for start in range(0, len(ids), 500):
                rows = session.execute(
                    select(Paper, Organization.name)
                    .outerjoin(Organization, Organization.id == Paper.organization_id)
                    .where(Paper.id.in_(ids[start:start + 500]))
                )
                for paper, organization in rows:
                    self._papers[paper.id] = DigestPaper(
                        id=paper.id,
                        arxiv_id=paper.arxiv_id,
                        title=paper.title,
                        url=f"{self._base_url}/papers/{quote(paper.arxiv_id)}",
                        byline=byline(paper.authors or [], organization),
                        upvotes=paper.upvotes,
                        summary=one_line(paper.ai_summary or paper.abstract),
                    )


class Composer:
    """Renders papertide's emails for one site (its name, address and signing key)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.domain = urlsplit(self.base_url).hostname or "localhost"
        self.tokens = DigestTokens(settings.secret_key)
        self._env = Environment(
            loader=PackageLoader("papertide.digest", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._digest_html = self._env.get_template("email/digest.html")
        self._digest_text = self._env.get_template("email/digest.txt")

    # Links a subscriber gets in every email.
    def unsubscribe_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/unsubscribe?token={self.tokens.unsubscribe(subscription_id, email)}"

    def preferences_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/settings/digest?token={self.tokens.manage(subscription_id, email)}"

    def confirm_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/subscribe/confirm?token={self.tokens.confirm(subscription_id, email)}"

    def digest_message_id(self, subscription_id: int, period: Period) -> str:
        """The same for every attempt at one digest, so a receiving server can tell a resend."""
        return f"<{period.key.replace(':', '.')}.s{subscription_id}@{self.domain}>"

    def subject(self, period: Period, papers: Sequence[DigestPaper]) -> str:
        top = papers[0].title if papers else ""
        top = top if len(top) <= 80 else top[:80].rsplit(" ", 1)[0] + "…"
        return f"{self.settings.site_name} {period.frequency}: {top}" if top else f"{self.settings.site_name} {period.frequency}"

    def digest(
        self, *, subscription_id: int, email: str, period: Period, papers: Sequence[DigestPaper], message_id: str | None = None
    ) -> EmailMessage:
        unsubscribe = self.unsubscribe_url(subscription_id, email)
        context = {
            "site_name": self.settings.site_name,
            "base_url": self.base_url,
            "period": period,
            "papers": papers,
            "email": email,
            "unsubscribe_url": unsubscribe,
            "preferences_url": self.preferences_url(subscription_id, email),
        }
        message = self._message(email, self.subject(period, papers), message_id or self.digest_message_id(subscription_id, period))
        message["List-Id"] = f"{self.settings.site_name} {period.frequency} digest <{period.frequency}.digest.{self.domain}>"
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["X-Papertide-Period"] = period.key
        message.set_content(self._digest_text.render(context), cte="quoted-printable")
        message.add_alternative(self._digest_html.render(context), subtype="html", cte="quoted-printable")
        return message

    def confirmation(self, subscription_id: int, email: str) -> EmailMessage:
        return self._simple(email, "confirm", f"Confirm your {self.settings.site_name} digest subscription", {
            "confirm_url": self.confirm_url(subscription_id, email),
        })

    def already_subscribed(self, subscription_id: int, email: str) -> EmailMessage:
        return self._simple(email, "already", f"You are already subscribed to {self.settings.site_name} digests", {
            "preferences_url": self.preferences_url(subscription_id, email),
            "unsubscribe_url": self.unsubscribe_url(subscription_id, email),
        })

    def _simple(self, email: str, name: str, subject: str, extra: dict) -> EmailMessage:
        context = {"site_name": self.settings.site_name, "base_url": self.base_url, "email": email, **extra}
        message = self._message(email, subject, None)
        message.set_content(self._env.get_template(f"email/{name}.txt").render(context))
        message.add_alternative(self._env.get_template(f"email/{name}.html").render(context), subtype="html")
        return message

    def _message(self, to: str, subject: str, message_id: str | None) -> EmailMessage:

        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = self.settings.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = message_id or make_msgid(domain=self.domain)
        message["Auto-Submitted"] = "auto-generated"
        return message

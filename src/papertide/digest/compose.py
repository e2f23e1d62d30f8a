"""Building papertide's emails: digests, confirmations and password resets; multipart (plain
text + HTML), with RFC 8058 headers on digests.

The two parts are rendered from Jinja2 templates in ``templates/email/``; the HTML is a
single-column table layout with inline styles, which renders the same in Gmail, Outlook and Apple
Mail. Messages are assembled with the standard library's ``email.mime`` classes, bodies
quoted-printable encoded by ``binascii`` (C), because the digest run builds thousands of them: the
``EmailMessage`` content manager and header registry cost four times as much per message.

Digests sharing a paper list (every trending subscriber of a period) are rendered once: the
per-reader parts (address, unsubscribe and preference links) are markers filled in per message.
"""

from __future__ import annotations

import binascii
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from urllib.parse import quote, urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import escape
from sqlalchemy import select

from papertide.catalog.models import Organization, Paper
from papertide.config import Settings
from papertide.db import Database
from papertide.digest.periods import DigestPeriod
from papertide.digest.tokens import DigestTokens
from papertide.orm import utcnow

# SMTP line endings; headers folded only past 998 characters, so that the List-Unsubscribe URL stays
# one token, as RFC 8058 clients expect it.
class _MailPolicy(Compat32):
    """compat32 that writes plain one-line ASCII headers as they are, skipping the ``Header``
    round trip the stock policy makes for every header of every message, a large share of the
    cost of composing one."""

    def _fold(self, name, value, sanitize):
        if isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value:
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


MAIL_POLICY = _MailPolicy(linesep="\r\n", max_line_length=998)
RENDER_CACHE = 512  # distinct paper lists kept rendered
# Stand-ins for what differs per reader, filled in after rendering (plain ASCII: escaping leaves them be).
_EMAIL, _UNSUBSCRIBE, _PREFERENCES = "@@papertide-email@@", "@@papertide-unsubscribe@@", "@@papertide-preferences@@"
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
    """Digest papers by id, each loaded from the database once per run. A paper hidden by a
    moderator since the digest was recorded is left out of it."""

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
                    .where(Paper.id.in_(ids[start:start + 500]), Paper.hidden.is_(False))
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


def text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype, charset="utf-8", policy=MAIL_POLICY)
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body.encode("utf-8")).decode("ascii"))
    return part


def header_text(value: str) -> str | Header:
    """ASCII as is; anything else as an RFC 2047 encoded word."""
    return value if value.isascii() else Header(value, "utf-8")


def body_of(message: Message, subtype: str) -> str:
    """The decoded text of a message's ``text/<subtype>`` part."""
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise LookupError(f"no text/{subtype} part")


class Composer:
    """Renders papertide's emails for one site (its name, address and signing key)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.base_url = settings.base_url.rstrip("/")
        self.domain = urlsplit(self.base_url).hostname or "localhost"
        self.tokens = DigestTokens(settings.secret_key)
        name, address = parseaddr(settings.mail_from)
        self.from_header = formataddr((name, address or settings.mail_from), charset="utf-8")
        self._env = Environment(
            loader=PackageLoader("papertide.digest", "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._digest_html = self._env.get_template("email/digest.html")
        self._digest_text = self._env.get_template("email/digest.txt")
        self._rendered: dict[tuple, tuple[str, str, str]] = {}

    # Links a subscriber gets in every email.
    def unsubscribe_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/unsubscribe?token={self.tokens.unsubscribe(subscription_id, email)}"

    def preferences_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/settings/digest?token={self.tokens.manage(subscription_id, email)}"

    def confirm_url(self, subscription_id: int, email: str) -> str:
        return f"{self.base_url}/subscribe/confirm?token={self.tokens.confirm(subscription_id, email)}"

    def digest_message_id(self, subscription_id: int, period: DigestPeriod) -> str:
        """The same for every attempt at one digest, so a receiving server can tell a resend."""
        return f"<{period.key.replace(':', '.')}.s{subscription_id}@{self.domain}>"

    def subject(self, period: DigestPeriod, papers: Sequence[DigestPaper]) -> str:
        top = papers[0].title if papers else ""
        top = top if len(top) <= 80 else top[:80].rsplit(" ", 1)[0] + "…"
        return f"{self.settings.site_name} {period.frequency}: {top}" if top else f"{self.settings.site_name} {period.frequency}"

    def _render_digest(self, period: DigestPeriod, papers: Sequence[DigestPaper]) -> tuple[str, str, str]:
        """(subject, text, html) with per-reader markers, rendered once per paper list."""
        key = (period.key, tuple(paper.id for paper in papers))
        rendered = self._rendered.get(key)
        if rendered is None:
            if len(self._rendered) >= RENDER_CACHE:
                self._rendered.clear()
            context = {
                "site_name": self.settings.site_name, "base_url": self.base_url, "period": period, "papers": papers,
                "email": _EMAIL, "unsubscribe_url": _UNSUBSCRIBE, "preferences_url": _PREFERENCES,
            }
            rendered = self._rendered[key] = (
                self.subject(period, papers), self._digest_text.render(context), self._digest_html.render(context),
            )
        return rendered

    def digest(
        self, *, subscription_id: int, email: str, period: DigestPeriod, papers: Sequence[DigestPaper], message_id: str | None = None
    ) -> Message:
        subject, text, html = self._render_digest(period, papers)
        unsubscribe = self.unsubscribe_url(subscription_id, email)
        preferences = self.preferences_url(subscription_id, email)
        text = text.replace(_EMAIL, email).replace(_UNSUBSCRIBE, unsubscribe).replace(_PREFERENCES, preferences)
        html = (html.replace(_EMAIL, str(escape(email))).replace(_UNSUBSCRIBE, str(escape(unsubscribe)))
                .replace(_PREFERENCES, str(escape(preferences))))
        message = self._message(email, subject, message_id or self.digest_message_id(subscription_id, period), text, html)
        message["List-Id"] = f"{self.settings.site_name} {period.frequency} digest <{period.frequency}.digest.{self.domain}>"
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message["X-Papertide-Period"] = period.key
        return message

    def confirmation(self, subscription_id: int, email: str) -> Message:
        return self._simple(email, "confirm", f"Confirm your {self.settings.site_name} digest subscription", {
            "confirm_url": self.confirm_url(subscription_id, email),
        })

    def already_subscribed(self, subscription_id: int, email: str) -> Message:
        return self._simple(email, "already", f"You are already subscribed to {self.settings.site_name} digests", {
            "preferences_url": self.preferences_url(subscription_id, email),
            "unsubscribe_url": self.unsubscribe_url(subscription_id, email),
        })

    def password_reset(self, email: str, username: str, reset_url: str, minutes: int) -> Message:
        """The link to choose a new password (the site's accounts send their mail through here too)."""
        return self._simple(email, "password_reset", f"Choose a new {self.settings.site_name} password", {
            "username": username, "reset_url": reset_url, "minutes": minutes,
        })

    def account_confirmation(self, email: str, username: str, confirm_url: str) -> Message:
        return self._simple(email, "account_confirm", f"Add this address to your {self.settings.site_name} account", {
            "username": username, "confirm_url": confirm_url,
        })

    def account_taken(self, email: str, owner: str, username: str) -> Message:
        return self._simple(email, "account_taken", f"Your address was used to sign up on {self.settings.site_name}", {
            "owner": owner, "username": username,
        })

    def _simple(self, email: str, name: str, subject: str, extra: dict) -> Message:
        context = {"site_name": self.settings.site_name, "base_url": self.base_url, "email": email, **extra}
        text = self._env.get_template(f"email/{name}.txt").render(context)
        html = self._env.get_template(f"email/{name}.html").render(context)
        return self._message(email, subject, make_msgid(domain=self.domain), text, html)

    def _message(self, to: str, subject: str, message_id: str, text: str, html: str) -> Message:
        # "=_" never occurs in quoted-printable text, so this boundary cannot collide with a body
        # (and the generator is spared its search for one).
        message = MIMEMultipart("alternative", boundary=f"=_papertide_{secrets.token_hex(12)}",
                                _subparts=[text_part(text, "plain"), text_part(html, "html")], policy=MAIL_POLICY)
        message["From"] = self.from_header
        message["To"] = to
        message["Subject"] = header_text(subject)
        message["Date"] = format_datetime(utcnow())
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"
        return message

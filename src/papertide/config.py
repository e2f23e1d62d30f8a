"""Settings read from the environment, so secrets never live in code.

Every setting has a working default for the embedded, single-machine setup; a deployment
overrides them with ``PAPERTIDE_*`` environment variables.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///papertide.db"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PAPERTIDE_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(f"PAPERTIDE_{name}")
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(f"PAPERTIDE_{name}")
    return default if value is None or not value.strip() else int(value)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, in one immutable object."""

    database_url: str = DEFAULT_DATABASE_URL
    # Signs session cookies, CSRF tokens and email links. Without one configured, a random
    # key is made per process: fine for a demo, but sessions do not survive a restart and
    # several workers would disagree, so deployments must set PAPERTIDE_SECRET_KEY.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    base_url: str = "http://127.0.0.1:8000"
    site_name: str = "papertide"
    # Email delivery (digests, confirmations).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: str = "none"  # none | starttls | tls
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "papertide <digest@localhost>"
    # Digests: sent by `papertide digest run` (cron), or by `papertide serve` itself when on.
    digests: bool = False
    digest_time: str = "07:00"  # local time of day, HH:MM
    digest_timezone: str = "Europe/Paris"
    # Upstream sources.
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    hf_api_url: str = "https://huggingface.co/api"
    # Search.
    embedder: str = "default"
    # Precision of query and of document embedding: "auto" picks the fastest at equal quality on
    # this CPU (int8 queries, bf16 documents where supported; see search/minilm.py), or fp32/bf16/int8.
    query_precision: str = "auto"
    document_precision: str = "auto"
    # Where queries are embedded: "process" (a child process per worker, so the embedding runs
    # beside the keyword side instead of sharing the GIL; search/query_process.py) or "inline".
    query_embedder: str = "process"
    # torch threads of `papertide index` (document embedding). One: two threads were 1.9x slower
    # as soon as anything else ran on the 2-core machine (README, Embedding speed); 0 = one per core.
    index_threads: int = 1
    # Multiplies every community rate limit (log-in, sign-up, votes, comments, submissions):
    # raise it for load tests and benchmarks; 0 turns rate limiting off.
    rate_limit_scale: float = 1.0
    # Origins whose pages may read the read-only API and the feeds from a browser (CORS): "*" for
    # any, none to allow no other origin. Writes are never open to other origins.
    cors_origins: tuple[str, ...] = ("*",)

    @classmethod
    def from_env(cls) -> "Settings":
        base = cls()
        return cls(
            database_url=_env("DATABASE_URL", DEFAULT_DATABASE_URL),
            secret_key=os.environ.get("PAPERTIDE_SECRET_KEY") or base.secret_key,
            base_url=_env("BASE_URL", base.base_url).rstrip("/"),
            site_name=_env("SITE_NAME", base.site_name),
            smtp_host=_env("SMTP_HOST", base.smtp_host),
            smtp_port=_env_int("SMTP_PORT", base.smtp_port),
            smtp_security=_env("SMTP_SECURITY", base.smtp_security),
            smtp_username=_env("SMTP_USERNAME", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            mail_from=_env("MAIL_FROM", base.mail_from),
            digests=_env_bool("DIGESTS", base.digests),
            digest_time=_env("DIGEST_TIME", base.digest_time),
            digest_timezone=_env("DIGEST_TIMEZONE", base.digest_timezone),
            arxiv_api_url=_env("ARXIV_API_URL", base.arxiv_api_url),
            arxiv_oai_url=_env("ARXIV_OAI_URL", base.arxiv_oai_url),
            hf_api_url=_env("HF_API_URL", base.hf_api_url).rstrip("/"),
            embedder=_env("EMBEDDER", base.embedder),
            query_precision=_env("QUERY_PRECISION", base.query_precision),
            document_precision=_env("DOCUMENT_PRECISION", base.document_precision),
            query_embedder=_env("QUERY_EMBEDDER", base.query_embedder).strip().lower(),
            index_threads=_env_int("INDEX_THREADS", base.index_threads),
            rate_limit_scale=float(_env("RATE_LIMIT_SCALE", str(base.rate_limit_scale))),
            cors_origins=tuple(o.strip().rstrip("/") for o in _env("CORS_ORIGINS", ",".join(base.cors_origins)).split(",")
                               if o.strip()),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings.from_env()


PACKAGE_DIR = Path(__file__).resolve().parent

"""Settings: one validated object, so a bad value fails at start with one clear line, not mid-run.

Every setting has a working default for the embedded, single-machine setup. A deployment sets
them, highest priority first, with ``PAPERTIDE_*`` environment variables, a ``.env`` file in the
working directory, or a TOML file (``PAPERTIDE_CONFIG``, else ``./papertide.toml`` when present;
keys are the lower-case names without the prefix: ``smtp_port = 587``).

``Settings(...)`` with keyword arguments is exactly those values plus the defaults (what tests and
benchmarks build); ``Settings.from_env()`` (and the cached ``get_settings()``) reads the sources.
Both validate: ``ConfigError`` carries one line naming the setting, where it came from and why.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings, DotEnvSettingsSource, EnvSettingsSource, SettingsConfigDict, TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite:///papertide.db"
ENV_PREFIX = "PAPERTIDE_"
CONFIG_ENV = "PAPERTIDE_CONFIG"
DEFAULT_CONFIG_FILE = "papertide.toml"
DOTENV_FILE = ".env"
# Shown instead of a secret's value by ``papertide config show`` and in logs.
MASK = "********"


class ConfigError(ValueError):
    """A setting that cannot be used; ``str()`` is one line for the operator."""


def _secret(default: str = "", **kwargs) -> Any:
    """A secret: never in ``repr`` (so never in a log line or a traceback's locals), masked by
    ``papertide config show``. Kept a plain ``str`` so the code that signs and logs in uses it as is."""
    return Field(default, repr=False, json_schema_extra={"secret": True}, **kwargs)


class Settings(BaseSettings):
    """Everything configurable, in one immutable, validated object."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    database_url: str = DEFAULT_DATABASE_URL
    # Signs session cookies, CSRF tokens and email links. Without one configured, a random
    # key is made per process: fine for a demo, but sessions do not survive a restart and
    # several workers would disagree, so deployments must set PAPERTIDE_SECRET_KEY.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32), repr=False,
                            json_schema_extra={"secret": True})
    base_url: str = "http://127.0.0.1:8000"
    site_name: str = "papertide"
    # Email delivery (digests, confirmations).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: str = _secret()
    mail_from: str = "papertide <digest@localhost>"
    # Digests: sent by the worker (`papertide worker`, or `papertide serve --worker`) when on.
    digests: bool = False
    digest_time: str = "07:00"  # local time of day, HH:MM
    digest_timezone: str = "Europe/Paris"
    # Upstream sources.
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    hf_api_url: str = "https://huggingface.co/api"
    arxiv_delay: float = Field(3.0, ge=0)  # seconds between arXiv requests, for the whole installation (arXiv's terms)
    # Seconds a reader submitting a paper waits for arXiv (its turn, connecting, each read) before
    # the submission is queued for the worker, which tries again with backoff.
    submit_timeout: float = Field(4.0, gt=0)
    hf_delay: float = Field(1.0, ge=0)  # seconds between Hugging Face API requests, for the whole installation
    # PDFs for thumbnails: arXiv asks automated clients to use export.arxiv.org, the host the API
    # uses too, so the one pace of ``source_pacing`` covers both.
    arxiv_pdf_url: str = "https://export.arxiv.org/pdf"
    # Where rendered thumbnails are kept; empty: beside the SQLite file (papertide.db-thumbnails),
    # or ./papertide-thumbnails with PostgreSQL. Every web worker must see the same folder.
    thumbnails_dir: str = ""
    # The worker renders thumbnails of new daily-list papers every hour (PDFs fetched from arXiv).
    thumbnails: bool = False
    # Backups by the worker (papertide.worker.backups): off while backup_dir is empty.
    backup_dir: str = ""  # folder the daily backup is written to (SQLite: online backup; PostgreSQL: pg_dump)
    backup_time: str = "03:30"  # time of day, UTC, HH:MM
    backup_keep: int = Field(14, ge=1)  # backups kept in backup_dir; older ones are deleted
    pg_dump: str = "pg_dump"  # the pg_dump binary (its major version must be at least the server's)
    # Search.
    embedder: Literal["default", "minilm", "hash"] = "default"
    # Precision of query embedding: "auto" is int8 where the CPU has int8 dot-product units (VNNI,
    # AMX), else fp32 (search/semantic/minilm.py). Documents are always embedded in fp32.
    query_precision: Literal["auto", "fp32", "int8"] = "auto"
    # What embeds documents: "auto" is PyTorch where the optional `bulk` extra is installed (bf16
    # on CPUs with bf16 units, or a GPU: several times faster), else onnxruntime (fp32).
    document_engine: Literal["auto", "onnxruntime", "torch"] = "auto"
    # Where queries are embedded: "process" (a child process per worker, so the embedding runs
    # beside the keyword side instead of sharing the GIL; search/semantic/query_process.py) or "inline".
    query_embedder: Literal["process", "inline"] = "process"
    # Threads of `papertide index` (document embedding). One: a second thread waits on the
    # first as soon as anything else runs on the machine (docs/performance.md, "Embedding
    # documents"); 0 = one per core, for a machine that does nothing else.
    index_threads: int = Field(1, ge=0)
    # Multiplies every community rate limit (log-in, sign-up, votes, comments, submissions):
    # raise it for load tests and benchmarks; 0 turns rate limiting off.
    rate_limit_scale: float = Field(1.0, ge=0)
    # On PostgreSQL each web worker keeps the content version in memory, current through
    # LISTEN/NOTIFY (catalog/version_listener.py), instead of reading it for every cached page;
    # off: one read per cached page, as on SQLite. No effect on SQLite.
    listen_versions: bool = True
    # Operations (docs/admin-guide.md, "Health and metrics").
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # One log line per web request (method, route, status, duration, request id): `serve --no-access-log` turns it off.
    access_log: bool = True
    # /metrics answers loopback clients, and others that send this bearer token (empty: nobody else).
    metrics_token: str = _secret()
    # Where the processes of one machine keep their Prometheus counters (multi-process mode), so
    # that /metrics adds them up; empty: `papertide serve` makes a fresh one per run.
    metrics_dir: str = ""
    # The reverse proxy's addresses: only from these does uvicorn believe X-Forwarded-For/-Proto
    # (comma-separated addresses or networks; "*" trusts everyone, so any client picks its address).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # Origins whose pages may read the read-only API and the feeds from a browser (CORS), comma-
    # separated (https://reader.example): "*" for any, empty for none. Writes are never open to them.
    cors_origins: str = "*"

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings,)  # the environment is read by from_env() alone

    @field_validator("base_url", "hf_api_url", "arxiv_pdf_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("smtp_security", "query_embedder", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("digest_time", "backup_time")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
            raise ValueError("expected a time of day as HH:MM, e.g. 07:00")
        return value.strip()

    @field_validator("digest_timezone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not a time zone name, e.g. Europe/Paris or UTC") from None
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        # uvicorn would take a mistyped address as a literal that never matches: say so instead.
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    raise ValueError(f"{entry!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/24)") from None
        return ",".join(entries)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        entries = [entry.strip().rstrip("/") for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry != "*" and not re.fullmatch(r"https?://[^/\s]+", entry):
                raise ValueError(f"{entry!r} is not an origin (scheme and host, e.g. https://reader.example) or *")
        return ",".join(entries)

    @property
    def cors_origin_list(self) -> list[str]:
        return [entry for entry in self.cors_origins.split(",") if entry]

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        check_database_url(value)
        return value

    @property
    def secret_key_configured(self) -> bool:
        """Whether the key came from the configuration (not made up for this process)."""
        return "secret_key" in self.model_fields_set

    def with_changes(self, **changes: Any) -> "Settings":
        """A validated copy with ``changes`` (what ``dataclasses.replace`` did for the old dataclass)."""
        changed = type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})
        object.__setattr__(changed, "__pydantic_fields_set__", self.model_fields_set | set(changes))
        return changed

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """The settings from the environment, ``.env`` and the TOML file; raises ``ConfigError``."""
        values, origins = read_sources(environ)
        try:
            return cls(**values)
        except ValidationError as error:
            raise ConfigError(_one_line(error, values, origins)) from None


def config_file(environ: dict[str, str] | None = None) -> Path | None:
    """The TOML file to read: ``PAPERTIDE_CONFIG`` (which must exist), else ./papertide.toml if present."""
    environ = os.environ if environ is None else environ
    named = environ.get(CONFIG_ENV, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={named}: no such file")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def read_sources(environ: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, tuple[str, str]]]:
    """Every configured value (lowest priority first, later sources win) and where each came
    from: (the name it was given under, the place: a file, or "environment")."""
    environ = os.environ if environ is None else environ
    fields = set(Settings.model_fields)
    values: dict[str, Any] = {}
    origins: dict[str, tuple[str, str]] = {}
    path = config_file(environ)
    if path is not None:
        try:
            found = TomlConfigSettingsSource(Settings, toml_file=path)()
        except Exception as error:  # noqa: BLE001 - tomllib's error says line and column
            raise ConfigError(f"{path}: not valid TOML: {error}") from None
        for key, value in found.items():
            values[key], origins[key] = value, (key, str(path))  # unknown keys fail validation
    if Path(DOTENV_FILE).is_file():
        for key, value in DotEnvSettingsSource(Settings, env_file=DOTENV_FILE)().items():
            if key in fields:
                values[key], origins[key] = value, (f"{ENV_PREFIX}{key.upper()}", DOTENV_FILE)
    source = EnvSettingsSource(Settings)
    source.env_vars = {k.lower(): v for k, v in environ.items()}
    for key, value in source().items():
        values[key], origins[key] = value, (f"{ENV_PREFIX}{key.upper()}", "environment")
    return values, origins


def _one_line(error: ValidationError, values: dict[str, Any], origins: dict[str, tuple[str, str]]) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    label, place = origins.get(name, (name, "environment"))
    where = "" if place == "environment" else f" ({place})"
    if first["type"] == "extra_forbidden":
        line = f"{label}{where}: unknown setting (known: {', '.join(Settings.model_fields)})"
    else:
        shown = MASK if is_secret(name) else repr(_without_password(name, values.get(name, first.get("input"))))
        reason = first["msg"].removeprefix("Value error, ")
        if reason[1:2].islower():  # "Input should be ..." reads on after the colon; "SQLAlchemy" stays
            reason = reason[:1].lower() + reason[1:]
        line = f"{label}={shown}{where}: {reason}"
    more = error.error_count() - 1
    return line + (f" (and {more} more invalid setting{'s' * (more > 1)})" if more else "")


def _without_password(name: str, value: Any) -> Any:
    if name != "database_url" or not isinstance(value, str):
        return value
    from sqlalchemy.engine import make_url

    try:
        return make_url(value).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not even a URL: nothing to hide in it
        return value


def is_secret(name: str) -> bool:
    field = Settings.model_fields.get(name)
    return bool(field and isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret"))


def check_database_url(url: str) -> None:
    """Raise ``ValueError`` unless ``url`` names a backend papertide runs on, with its driver installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("not a database URL (e.g. sqlite:///papertide.db or postgresql+psycopg://user:password@host/papertide)") from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"SQLAlchemy knows no database called {parsed.drivername!r} "
                         "(papertide runs on sqlite:/// or postgresql+psycopg://)") from None
    if dialect.name == "postgresql":
        if dialect.driver != "psycopg":
            raise ValueError(f"papertide talks to PostgreSQL through psycopg 3: write postgresql+psycopg://, not {parsed.drivername}://")
        missing = [module for module in ("psycopg", "pgvector") if find_spec(module) is None]
        if missing:
            raise ValueError(f"PostgreSQL needs the postgres extra ({', '.join(missing)} not installed): "
                             "pip install 'papertide[postgres]'")
    elif dialect.name != "sqlite":
        raise ValueError(f"papertide runs on SQLite or PostgreSQL, not {dialect.name}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment (raises ``ConfigError``)."""
    return Settings.from_env()


PACKAGE_DIR = Path(__file__).resolve().parent

"""`papertide digest run|preview|subscribers` through click, on a real database and SMTP server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from papertide.cli import main
from papertide.config import get_settings
from papertide.db import get_database

from .conftest import SECRET, confirmed


@pytest.fixture
def cli(papers, sink, monkeypatch):
    monkeypatch.setenv("PAPERTIDE_DATABASE_URL", papers.url)
    monkeypatch.setenv("PAPERTIDE_SECRET_KEY", SECRET)
    monkeypatch.setenv("PAPERTIDE_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("PAPERTIDE_BASE_URL", "http://papertide.test")
    get_settings.cache_clear()
    get_database.cache_clear()
    yield lambda *args: CliRunner().invoke(main, ["digest", *args], catch_exceptions=False)
    get_database.cache_clear()
    get_settings.cache_clear()


def test_run_sends_and_a_second_run_sends_nothing(cli, papers, sink):
    confirmed(papers, 3)
    first = cli("run", "--date", "2026-08-17", "--retry-window", "0")
    assert first.exit_code == 0 and "3 digests recorded now" in first.output and "3 sent" in first.output
    second = cli("run", "--date", "2026-08-17", "--retry-window", "0")
    assert "0 digests recorded now" in second.output and "0 sent" in second.output
    assert len(sink.handler.received) == 3


def test_dry_run_records_and_sends_nothing(cli, papers, sink):
    confirmed(papers, 2)
    result = cli("run", "--period", "weekly", "--date", "2026-08-19", "--dry-run")
    assert "weekly:2026-W34: 108 papers; 0 confirmed weekly subscribers" in result.output
    assert "dry run" in result.output
    result = cli("run", "--date", "2026-08-19", "--dry-run")
    assert "2 digests would be recorded" in result.output and not sink.handler.received
    assert "recorded now" not in cli("subscribers").output


def test_a_day_without_papers_says_so(cli, papers, sink):
    confirmed(papers, 1)
    result = cli("run", "--date", "2026-08-23", "--retry-window", "0")
    assert result.exit_code == 0 and "no papers on the list for Sunday 23 August 2026" in result.output
    assert not sink.handler.received


def test_run_refuses_to_sign_links_with_a_throwaway_key(cli, monkeypatch):
    monkeypatch.delenv("PAPERTIDE_SECRET_KEY")
    result = CliRunner().invoke(main, ["digest", "run"])
    assert result.exit_code == 1 and "PAPERTIDE_SECRET_KEY is not set" in result.output


def test_a_server_that_is_down_makes_the_run_fail_loudly(cli, papers, monkeypatch):
    from .conftest import free_port

    confirmed(papers, 1)
    monkeypatch.setenv("PAPERTIDE_SMTP_PORT", str(free_port()))
    get_settings.cache_clear()
    result = cli("run", "--date", "2026-08-17", "--retry-window", "0")
    assert result.exit_code == 1 and "stopped early: cannot reach SMTP server" in result.output


def test_subscribers_and_preview(cli, papers):
    confirmed(papers, 2, content="interests", topics=["agent"], max_papers=2)
    listing = cli("subscribers")
    assert "confirmed daily" in listing.output and "reader1@example.org" in listing.output and "agent" in listing.output
    preview = cli("preview", "reader0@example.org")
    assert preview.exit_code == 0 and preview.output.count("/papers/") == 2
    assert "agent" in preview.output.lower()
    eml = cli("preview", "--format", "eml")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml.output
    assert cli("preview", "nobody@example.org").exit_code == 1

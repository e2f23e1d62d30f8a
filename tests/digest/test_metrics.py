"""Digest delivery as /metrics shows it: sent and failed counters, and the outbox depth read from
the database at scrape time, through prometheus-client's own parser, with a real SMTP server."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from papertide import metrics
from papertide.digest import outbox
from papertide.digest.run import DeliveryPolicy, run_digests
from papertide.digest.select import PaperSelector
from papertide.orm import utcnow
from papertide.web.health import OutboxDepth
from tests.digest.conftest import MONDAY, RejectSome, confirmed, make_settings

NO_WAIT = DeliveryPolicy(retry_window=timedelta(0))


def scrape(database) -> dict[tuple[str, tuple], float]:
    """Every sample of this process's metrics plus the outbox gauge, by (name, sorted labels)."""
    body, _ = metrics.exposition([OutboxDepth(database)])
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


def test_sent_bounced_and_waiting_digests_are_counted(papers, smtp_server):
    confirmed(papers, 4)
    server = smtp_server(RejectSome({"reader3@example.org"}))
    before = scrape(papers)
    outbox.record(papers, MONDAY, PaperSelector(papers, MONDAY), utcnow())
    waiting = scrape(papers)
    assert waiting[("papertide_digest_outbox_depth", (("status", "pending"),))] == 4
    assert waiting[("papertide_digest_outbox_depth", (("status", "sending"),))] == 0

    report = run_digests(papers, make_settings(papers, server.port), MONDAY, policy=NO_WAIT)
    assert (report.sent, report.bounced) == (3, 1) and len(server.handler.received) == 3
    after = scrape(papers)
    sent = ("papertide_digests_sent_total", ())
    bounced = ("papertide_digests_failed_total", (("reason", "bounced"),))
    assert after[sent] - before.get(sent, 0) == 3
    assert after[bounced] - before.get(bounced, 0) == 1
    assert after[("papertide_digest_outbox_depth", (("status", "pending"),))] == 0

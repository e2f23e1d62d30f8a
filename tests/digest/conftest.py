"""Digest test kit: real SMTP servers on loopback (aiosmtpd), some of them faulty on purpose,
a week of real papers from the demo corpus, and confirmed subscribers made through the service."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from papertide.config import Settings
from papertide.db import Database
from papertide.digest import subscriptions
from papertide.digest.periods import DigestPeriod
from papertide.ingest.detect import open_source
from papertide.ingest.runner import ingest

WEEK_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "digest" / "week-2026-08-17.jsonl"
MONDAY = DigestPeriod.containing("daily", date(2026, 8, 17))  # 23 real papers on the list that day
WEEK = DigestPeriod.containing("weekly", date(2026, 8, 17))  # 108 papers, Monday to Friday
EMPTY_DAY = DigestPeriod.containing("daily", date(2026, 8, 22))  # a Saturday with nothing on the list
SECRET = "digest-tests-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


class RecordingHandler:
    """Accepts everything and keeps it. Subclasses inject faults."""

    def __init__(self):
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self.reply_to_data(envelope)
        if reply.startswith("250"):
            parsed = email.message_from_bytes(envelope.content, policy=policy.default)
            with self.arrived:
                self.received.append(Received(list(envelope.rcpt_tos), parsed))
                self.arrived.notify_all()
        return reply

    def reply_to_data(self, envelope) -> str:
        return "250 OK: queued"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def per_recipient(self) -> Counter:
        return Counter(recipient for item in self.received for recipient in item.recipients)


class RefuseAfter(RecordingHandler):
    """Accepts ``limit`` messages, then answers 421 (closing) to every new recipient."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(self.received) >= self.limit:
            return "421 4.7.0 too many messages, closing connection"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class TempFailFirst(RecordingHandler):
    """Answers 451 to the first ``times`` DATA attempts for each recipient, then accepts."""

    def __init__(self, times: int = 1):
        super().__init__()
        self.times = times
        self.attempts: Counter = Counter()

    def reply_to_data(self, envelope) -> str:
        recipient = envelope.rcpt_tos[0]
        self.attempts[recipient] += 1
        if self.attempts[recipient] <= self.times:
            return "451 4.3.0 temporary local problem, try again later"
        return super().reply_to_data(envelope)


class RejectSome(RecordingHandler):
    """Answers 550 (no such user) for the given addresses."""

    def __init__(self, rejected: set[str]):
        super().__init__()
        self.rejected = rejected
        self.refusals: Counter = Counter()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rejected:
            self.refusals[address] += 1
            return "550 5.1.1 no such user here"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


class MeetingPoint(RecordingHandler):
    """Holds each connection's first message until ``parties`` connections have one to send: then
    that many senders are delivering at the same time, each holding the rows it claimed. ``met``
    says whether they all came (within ``timeout``, below the client's 30 s socket timeout)."""

    def __init__(self, parties: int = 2, timeout: float = 25.0):
        super().__init__()
        self.parties, self.timeout = parties, timeout
        self.sessions: list = []
        self.met = False
        self._everyone: asyncio.Event | None = None  # made in the server's event loop

    async def handle_DATA(self, server, session, envelope):
        if not any(known is session for known in self.sessions):
            self.sessions.append(session)
            self._everyone = self._everyone or asyncio.Event()
            if len(self.sessions) >= self.parties:
                self.met = True
                self._everyone.set()
            try:
                await asyncio.wait_for(self._everyone.wait(), self.timeout)
            except asyncio.TimeoutError:
                pass  # the message goes through; the test sees ``met`` is False
        return await super().handle_DATA(server, session, envelope)


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int
    controller: Controller | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server():
    """Starts a real SMTP server on 127.0.0.1 with the handler given (default: accept all)."""
    started: list[SmtpServer] = []

    def start(handler: RecordingHandler | None = None, port: int | None = None) -> SmtpServer:
        handler = handler or RecordingHandler()
        port = port or free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        server = SmtpServer(handler, port, controller)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sink(smtp_server) -> SmtpServer:
    return smtp_server()


def make_settings(database: Database, port: int, base_url: str = "http://papertide.test") -> Settings:
    return Settings(
        database_url=database.url, secret_key=SECRET, base_url=base_url,
        smtp_host="127.0.0.1", smtp_port=port, mail_from="papertide <digest@papertide.test>",
    )


@pytest.fixture
def papers(database) -> Database:
    """The database holding a real week of the daily list (2026-08-17 to 21)."""
    summary = ingest(database, open_source(str(WEEK_FIXTURE)), progress=False)
    assert summary.total == 108 and not summary.rejected
    return database


def confirmed(database: Database, count: int, prefix: str = "reader", **preferences) -> list[int]:
    """``count`` subscribers who went through double opt-in, ids in order."""
    ids = []
    for n in range(count):
        request = subscriptions.request_subscription(
            database, f"{prefix}{n}@example.org", subscriptions.Preferences(**preferences)
        )
        subscriptions.confirm(database, request.subscription_id, request.email)
        ids.append(request.subscription_id)
    return ids

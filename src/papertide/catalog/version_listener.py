"""A content version kept in memory on PostgreSQL, current through LISTEN/NOTIFY.

``versions.reader`` reads the version row on every call: a local file read on SQLite, but a
network round trip on PostgreSQL, on the hot path of every cached page. A ``ListeningReader``
answers from memory instead, while a daemon thread with its own autocommit connection listens on
``versions.CHANNEL``, where every ``versions.bump`` notifies ``key:version`` in the bumping
transaction (so only once it commits).

Correctness before speed:

* The thread LISTENs *then* reads the row, at start and after every reconnect: a bump committed
  in between is both read and notified (the larger number wins), never missed.
* Until it has listened and read, and from the moment its connection fails, calls read the
  database as ``versions.reader`` does; it reconnects with backoff (50 ms doubling to 5 s).
* A commit through this process's own engine raises a floor (``committed``): until the
  notification of that commit arrives, calls read the database, so a process sees its own
  changes at once.
* A connection that dies silently (a network partition without a reset) is noticed by a
  ``SELECT 1`` after ``heartbeat`` seconds without traffic, which fails once the server has not
  acknowledged it for ``tcp_user_timeout`` (5 s; TCP keepalives too): for those ~7 seconds this
  process may serve a page older than a change made through another process.

So another process's change is visible here once its notification arrives: on one machine,
about 0.1 ms after the commit returned to the process that made it (p99 0.15 ms, 0.6 ms after it
sent the commit; ``benchmarks/notify_latency.py``, docs/performance.md).
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from papertide.catalog import versions
from papertide.catalog.models import ContentVersion

log = logging.getLogger(__name__)

# libpq settings of the listening connection: a dead peer is found in seconds, not hours.
CONNECT_OPTIONS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                   "keepalives_count": 2, "tcp_user_timeout": 5000, "application_name": "papertide-listener"}


class ListeningReader:
    """``reader()`` returns the current version of ``key``: from memory while listening, else from the database."""

    def __init__(self, engine: Engine, key: str = versions.CATALOG, *, heartbeat: float = 2.0,
                 backoff: tuple[float, float] = (0.05, 5.0)):
        if key not in versions.NOTIFIED:
            raise ValueError(f"no notification is sent for {key!r}: listen to one of {sorted(versions.NOTIFIED)}")
        self.engine, self.key, self.heartbeat, self.backoff = engine, key, heartbeat, backoff
        self._read_database: Callable[[], int] = versions.reader(engine, key)
        self._value: int | None = None  # None: not listening, read the database
        self._floor = 0  # the newest version this process committed: memory below it is behind
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None  # a pipe: stop() writes to wake the thread's select
        self.backend_pid: int | None = None  # the listening connection's server process, while listening
        self.connections = 0  # how many times it has listened and read (tests wait on it)
        self.notifications = 0  # notifications of ``key`` received
        self.notified_at = 0.0  # time.perf_counter() when the last one was taken in (benchmarks)
        self._users = 0  # start() calls not yet matched by stop(): an app may be entered twice (tests do)

    def __call__(self) -> int:
        value = self._value
        if value is not None and value >= self._floor:
            return value
        return self._read_database()

    @property
    def listening(self) -> bool:
        return self._value is not None

    @property
    def remembered(self) -> int | None:
        """The version held in memory (None while not listening)."""
        return self._value

    def start(self) -> None:
        self._users += 1
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._wake = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"papertide-listener-{self.key}", daemon=True)
        versions.committed_listeners.add(self)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening (at the last stop of as many as starts) and close the connection; calls
        read the database from now on."""
        self._users = max(0, self._users - 1)
        thread, wake = self._thread, self._wake
        if self._users or thread is None or wake is None:
            return
        versions.committed_listeners.discard(self)
        self._stop.set()
        os.write(wake[1], b"x")
        thread.join(timeout)
        if not thread.is_alive():  # else (stuck connecting) it still selects on the pipe: leave it open
            os.close(wake[0])
            os.close(wake[1])
        self._thread = self._wake = None
        self._down()

    def wait_until(self, condition: Callable[[ListeningReader], bool], timeout: float = 10.0) -> bool:
        """Block until ``condition(self)`` holds (checked at every change of state), or the timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def committed(self, bumped: dict[str, int]) -> None:
        """This process committed ``bumped`` (key -> version): read the database until notified of it."""
        version = bumped.get(self.key)
        if version is not None:
            with self._changed:
                self._floor = max(self._floor, version)

    # -- the listening thread -----------------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            listened = self.connections
            try:
                self._listen()
            except Exception as error:  # noqa: BLE001 - any failure: fall back at once (finally), then try again
                log.warning("content version listener: %s; reading the database until it reconnects",
                            str(error).strip() or type(error).__name__)
            finally:
                self._down()
            if self.connections > listened:  # it had listened: the backoff starts again
                delay = self.backoff[0]
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.backoff[1])

    def _connect(self):
        import psycopg

        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        options = {**CONNECT_OPTIONS, **params}
        if str(options.get("host", "")).startswith("/"):  # a Unix socket: no TCP options
            options = {k: v for k, v in options.items() if not k.startswith(("keepalives", "tcp_"))}
        return psycopg.connect(*args, autocommit=True, **options)

    def _listen(self) -> None:
        assert self._wake is not None
        wake = self._wake[0]
        with self._connect() as connection:
            connection.execute(f"LISTEN {versions.CHANNEL}")  # first LISTEN, then read: nothing missed
            row = connection.execute(f"SELECT version FROM {ContentVersion.__tablename__} WHERE key = %s",
                                     (self.key,)).fetchone()
            with self._changed:
                self._value = row[0] if row else 0
                self.backend_pid = connection.info.backend_pid
                self.connections += 1
                self._changed.notify_all()
            if self.connections > 1:
                log.info("content version listener: listening again")
            while not self._stop.is_set():
                for notify in connection.notifies(timeout=0):  # what has arrived, without waiting
                    self._notified(notify.payload)
                ready, _, _ = select.select([connection.fileno(), wake], [], [], self.heartbeat)
                if wake in ready:
                    return
                if not ready:
                    connection.execute("SELECT 1")  # quiet for a while: is the server still there?

    def _notified(self, payload: str) -> None:
        key, _, version = payload.rpartition(":")
        if key != self.key or not version.isdigit():
            return
        with self._changed:
            if self._value is not None:
                self._value = max(self._value, int(version))
            self.notifications += 1
            self.notified_at = time.perf_counter()
            self._changed.notify_all()

    def _down(self) -> None:
        with self._changed:
            self._value = None
            self.backend_pid = None
            self._changed.notify_all()

"""What time it is for the worker, and how it waits: the wall clock, or a shared simulated one.

The scheduler never calls ``datetime.now`` or ``time.sleep`` itself; it asks a ``Clock``. In
production that is ``SystemClock``. ``FileClock`` reads the time from a file that a driver
rewrites, so several real worker processes can live through a simulated day in seconds, all
agreeing on what time it is (``papertide worker --clock-file``, used by the tests).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

FILE_POLL = 0.01  # seconds between reads of a FileClock's file while waiting


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, aware, UTC."""

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        """Wait until this clock reads ``moment`` or ``stop`` is set; True when stopped.

        A moment, not a duration: with a clock that jumps, "N seconds from when I looked" would
        depend on when the waiter looked, and a jump in between would make it wait too long."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        return stop.wait(max((moment - self.now()).total_seconds(), 0.0))


class FileClock:
    """The time written in ``path`` (ISO 8601 with an offset); it moves only when the file changes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def now(self) -> datetime:
        text = self.path.read_text().strip()
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            raise ValueError(f"{self.path}: the time must carry its UTC offset, not {text!r}")
        return value.astimezone(timezone.utc)

    def wait_until(self, moment: datetime, stop: threading.Event) -> bool:
        while self.now() < moment:
            if stop.wait(FILE_POLL):
                return True
        return stop.is_set()

    @staticmethod
    def write(path: str | Path, when: datetime) -> None:
        """Set the time of the clock at ``path`` (atomically: a reader never sees half a line)."""
        path = Path(path)
        partial = path.with_name(path.name + ".partial")
        partial.write_text(when.astimezone(timezone.utc).isoformat())
        partial.replace(path)

"""What a job body is handed, and what it hands back."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from papertide.config import Settings
from papertide.db import Database
from papertide.worker.clock import Clock


@dataclass
class JobContext:
    """The installation, the time, and whether a person watches (progress bars) or not (logs)."""

    database: Database
    settings: Settings
    clock: Clock
    progress: bool = False
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Outcome:
    """What a job did, in numbers and one line for people."""

    added: int = 0
    updated: int = 0
    summary: str = ""


class JobFailed(Exception):
    """A job that failed after doing part of its work: the error, and what it did before."""

    def __init__(self, message: str, outcome: Outcome):
        super().__init__(message)
        self.outcome = outcome

"""Pacing shared by every process that talks to one host.

arXiv's "3 seconds between calls" holds for the whole installation: a harvest, a cron job and
several web workers handling "submit a paper" all reach arXiv from the same address. Each
request reserves the next free turn for its host with one atomic UPDATE of ``source_pacing``
(the row's time moves on by ``delay``), then sleeps until its turn, holding no lock meanwhile.
The database is the one thing all those processes, on one machine or several, already share.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import case, update

from papertide.catalog.models import SourcePacing
from papertide.db import Database, dialect_insert


class DatabasePacer:
    """Turns per host, reserved in the database; ``reserve`` says how long to wait for one."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time):
        self.database = database
        self.clock = clock  # wall time, not monotonic: other processes and machines read it too

    def reserve(self, host: str, delay: float) -> float:
        """Take the next turn at ``host`` (turns are ``delay`` seconds apart); the seconds to
        wait until it comes, 0 if it is now."""
        now = self.clock()
        table = SourcePacing.__table__
        with self.database.session() as session:
            session.execute(dialect_insert(session, table).values(host=host, next_request_at=now)
                            .on_conflict_do_nothing(index_elements=["host"]))
            turn_ends = session.execute(
                update(table).where(table.c.host == host)
                .values(next_request_at=case((table.c.next_request_at > now, table.c.next_request_at), else_=now) + delay)
                .returning(table.c.next_request_at)
            ).scalar_one()
        return max(0.0, turn_ends - delay - now)

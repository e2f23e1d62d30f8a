"""Where long harvests stopped: one row per harvest in ``harvest_checkpoints``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from papertide.catalog.models import HarvestCheckpoint
from papertide.orm import utcnow


def load_checkpoint(session: Session, key: str) -> dict[str, Any] | None:
    return session.scalar(select(HarvestCheckpoint.state).where(HarvestCheckpoint.key == key))


def save_checkpoint(session: Session, key: str, state: dict[str, Any] | None) -> None:
    """Remember ``state`` for ``key`` (None forgets it: the harvest is complete)."""
    existing = session.get(HarvestCheckpoint, key)
    if state is None:
        if existing is not None:
            session.execute(delete(HarvestCheckpoint).where(HarvestCheckpoint.key == key))
        return
    if existing is None:
        session.add(HarvestCheckpoint(key=key, state=state, updated_at=utcnow()))
    else:
        existing.state = state
        existing.updated_at = utcnow()
    session.flush()

"""The one search table the ORM knows: a paper's embedding, tagged with the model that made it.

The keyword index (``papers_fts``, SQLite FTS5) is not an ORM table: it is created by migration
0002 together with the triggers that keep it equal to ``papers`` on every insert, update and
delete, so no write path (upsert, moderation, tests) can forget to update it.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from papertide.orm import Base


class PaperEmbedding(Base):
    """A paper's vector: float16 little-endian bytes, unit length before rounding.

    ``text_hash`` is a hash of the text the vector was computed from, so ``papertide index``
    re-embeds a paper whose title or abstract changed and skips every other one (resumable).
    """

    __tablename__ = "paper_embeddings"

    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), index=True)
    text_hash: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)

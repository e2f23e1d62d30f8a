"""Where first-page thumbnails live on disk, for the job that renders them and the site that serves them.

Files are named ``<paper id>-<content hash>.webp``: a new rendering gets a new name, so browsers
may keep one forever, and a name can only ever be digits, a dash and hex (nothing to escape).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from papertide.config import Settings
from papertide.db import beside_sqlite_file

FILE_NAME = re.compile(r"[0-9]{1,12}-[0-9a-f]{12}\.webp")
POSTGRES_DEFAULT = "papertide-thumbnails"


def thumbnails_folder(settings: Settings) -> Path:
    """The configured folder, else one beside the SQLite file, else ``./papertide-thumbnails``."""
    if settings.thumbnails_dir:
        return Path(settings.thumbnails_dir).expanduser()
    return beside_sqlite_file(settings.database_url, "-thumbnails") or Path(POSTGRES_DEFAULT)


def file_name(paper_id: int, image: bytes) -> str:
    return f"{paper_id}-{hashlib.sha256(image).hexdigest()[:12]}.webp"

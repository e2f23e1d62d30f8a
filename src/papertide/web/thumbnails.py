"""``/thumbnails/{file}``: first-page thumbnails rendered by ``papertide thumbnails fetch``.

A file's name carries a hash of its content (``catalog.thumbnails``), so it is served as
immutable; names are checked against that pattern before any path is built from them.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

from papertide.catalog.thumbnails import FILE_NAME, thumbnails_folder
from papertide.web.deps import settings

router = APIRouter(include_in_schema=False)


@router.get("/thumbnails/{name}")
def thumbnail(request: Request, name: str) -> FileResponse:
    path = thumbnails_folder(settings(request)) / name
    if not FILE_NAME.fullmatch(name) or not path.is_file():
        raise HTTPException(status_code=404, detail="no such thumbnail")
    return FileResponse(path, media_type="image/webp", headers={"Cache-Control": "public, max-age=31536000, immutable"})

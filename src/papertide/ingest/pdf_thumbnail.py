"""A PDF's first page as a small WebP image, rendered with PDFium (pypdfium2).

PDFium is the renderer of Chrome's PDF viewer: it copes with the many half-broken PDFs real
papers are, and it only parses what the first page needs. A PDF it cannot open raises
``NotAPdf`` with PDFium's reason, so the job can record why and move on.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium

WIDTH = 360  # pixels: twice the widest card thumbnail, and enough for a link preview
QUALITY = 80


class NotAPdf(ValueError):
    """The bytes are no PDF PDFium can render."""


@dataclass(frozen=True)
class Thumbnail:
    image: bytes  # WebP
    width: int
    height: int


def render_first_page(pdf: bytes, width: int = WIDTH) -> Thumbnail:
    """The first page of ``pdf``, ``width`` pixels wide, on white."""
    if not pdf.startswith(b"%PDF"):
        raise NotAPdf("the answer is not a PDF")
    try:
        document = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as error:
        raise NotAPdf(f"PDFium cannot open it: {error}") from error
    try:
        if len(document) == 0:
            raise NotAPdf("the PDF has no pages")
        page = document[0]
        try:
            scale = width / max(page.get_width(), 1.0)
            image = page.render(scale=scale, fill_color=(255, 255, 255, 255)).to_pil().convert("RGB")
        finally:
            page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=QUALITY, method=6)
    return Thumbnail(buffer.getvalue(), image.width, image.height)

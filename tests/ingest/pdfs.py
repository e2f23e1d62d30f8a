"""PDFs made with PDFium and a local HTTP server that hands them out as arXiv would: paper-like
first pages (title, authors, a teaser figure, the abstract) for screenshots, and the server for
the thumbnail tests too."""

from __future__ import annotations

import ctypes
import io
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pypdfium2 as pdfium
import pypdfium2.raw as raw

WIDTH, HEIGHT = 612, 792


def _text(document, page, font: str, size: float, x: float, y: float, line: str) -> None:
    text = raw.FPDFPageObj_NewTextObj(document.raw, font.encode(), size)
    encoded = (line + "\x00").encode("utf-16-le")
    raw.FPDFText_SetText(text, ctypes.cast(ctypes.create_string_buffer(encoded), ctypes.POINTER(raw.FPDF_WCHAR)))
    raw.FPDFPageObj_Transform(text, 1, 0, 0, 1, x, y)
    raw.FPDFPage_InsertObject(page.raw, text)


def make_pdf(*colours: tuple[int, int, int]) -> bytes:
    """A PDF with one page per colour, its top half filled with that colour."""
    document = pdfium.PdfDocument.new()
    for colour in colours:
        page = document.new_page(WIDTH, HEIGHT)
        _box(page, 0, HEIGHT / 2, WIDTH, HEIGHT / 2, colour)
        raw.FPDFPage_GenerateContent(page.raw)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


PALETTE = [(79, 70, 229), (8, 145, 178), (5, 150, 105), (217, 119, 6), (219, 39, 119), (124, 58, 237)]


def _box(page, x: float, y: float, width: float, height: float, colour: tuple[int, int, int], alpha: int = 255) -> None:
    rectangle = raw.FPDFPageObj_CreateNewRect(x, y, width, height)
    raw.FPDFPageObj_SetFillColor(rectangle, *colour, alpha)
    raw.FPDFPath_SetDrawMode(rectangle, raw.FPDF_FILLMODE_ALTERNATE, False)
    raw.FPDFPage_InsertObject(page.raw, rectangle)


def _figure(page, y: float, seed: int) -> None:
    """A teaser figure, as many first pages have: a tinted panel with a bar chart."""
    colour = PALETTE[seed % len(PALETTE)]
    _box(page, 56, y - 150, WIDTH - 112, 150, colour, 38)
    for bar in range(7):
        height = 30 + (seed * (bar + 3) * 37) % 100
        _box(page, 96 + bar * 64, y - 135, 38, height, colour if bar % 3 else PALETTE[(seed + 2) % len(PALETTE)])


def paper_pdf(title: str, authors: list[str], abstract: str) -> bytes:
    """A first page as a paper sets it: centred title, authors, a teaser figure, the abstract."""
    document = pdfium.PdfDocument.new()
    page = document.new_page(WIDTH, HEIGHT)
    y = HEIGHT - 96
    for line in textwrap.wrap(title, 46)[:3]:
        _text(document, page, "Times-Bold", 19, max(56, (WIDTH - len(line) * 8.6) / 2), y, line)
        y -= 25
    y -= 8
    names = ", ".join(authors[:6]) + (" et al." if len(authors) > 6 else "")
    for line in textwrap.wrap(names, 70)[:2]:
        _text(document, page, "Times-Roman", 11, max(56, (WIDTH - len(line) * 4.9) / 2), y, line)
        y -= 15
    y -= 10
    _figure(page, y, sum(title.encode()))
    y -= 176
    _text(document, page, "Times-Bold", 11, WIDTH / 2 - 24, y, "Abstract")
    y -= 18
    for line in textwrap.wrap(abstract, 92)[:14]:
        _text(document, page, "Times-Roman", 9.5, 78, y, line)
        y -= 12.5
    y -= 18
    _text(document, page, "Times-Bold", 11, 56, y, "1   Introduction")
    y -= 16
    for line in textwrap.wrap(abstract * 2, 104)[:8]:
        _text(document, page, "Times-Roman", 9.5, 56, y, line)
        y -= 12.5
    raw.FPDFPage_GenerateContent(page.raw)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@contextmanager
def serve_pdfs(pdfs: dict[str, bytes], asked: Counter[str] | None = None) -> Iterator[str]:
    """Serve ``pdfs`` (arXiv id -> bytes, read at each request) at ``<url>/<arXiv id>``, 404 for
    others; yields the base URL. ``asked`` counts the requests per id."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            arxiv_id = self.path.removeprefix("/pdf/")
            if asked is not None:
                asked[arxiv_id] += 1
            body = pdfs.get(arxiv_id)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pdf"
    finally:
        server.shutdown()
        server.server_close()

"""Papers as RIS (Research Information Systems), the format Zotero, EndNote and Mendeley import.

An arXiv paper is a preprint: type ``UNPB`` (unpublished work), the arXiv id as its archive
number (``AN``) and the abstract page as its URL, as Zotero exports arXiv items. One tag per
line, ``TAG  - value``; every record ends with ``ER  -``. Values are single lines (RIS has no
escaping), and each author is a tag of their own. A local paper (not on arXiv) has no arXiv
publisher, URL or PDF: its local id is its archive number.
"""

from __future__ import annotations

from papertide.catalog.models import Paper


def _line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(str(value).split())}"


def ris_record(paper: Paper) -> str:
    lines = [_line("TY", "UNPB"), _line("TI", paper.title)]
    lines += [_line("AU", author) for author in paper.authors or ()]
    if paper.published_at:
        lines += [_line("PY", paper.published_at.year), _line("DA", paper.published_at.strftime("%Y/%m/%d"))]
    lines += [_line("AB", paper.abstract)] if paper.abstract else []
    if paper.is_arxiv:
        lines += [_line("PB", "arXiv"), _line("AN", f"arXiv:{paper.arxiv_id}"), _line("UR", paper.abs_url),
                  _line("L1", paper.pdf_url)]
    else:  # a local paper: its id as the archive number, its project page (if any) as its URL
        lines += [_line("AN", paper.arxiv_id)] + ([_line("UR", paper.project_page)] if paper.project_page else [])
    lines += [_line("DO", paper.doi)] if paper.doi else []
    lines += [_line("KW", keyword) for keyword in paper.categories or ()]
    lines.append("ER  - ")
    return "\r\n".join(lines)


def ris(papers: list[Paper]) -> str:
    """Records for ``papers``, separated by blank lines, CRLF line ends as the format asks."""
    return "\r\n\r\n".join(ris_record(paper) for paper in papers) + "\r\n"

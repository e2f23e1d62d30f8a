"""A paper's BibTeX entry, in the shape arXiv's own export gives, so a reader can paste it as is.

A local paper (not on arXiv) gets no eprint or arXiv URL: its DOI and project page if known, and
its local id as a note."""

from __future__ import annotations

import re

from papertide.catalog.models import Paper


def citation_key(paper: Paper) -> str:
    """Surname + year + first long title word, as arXiv keys its entries: ``vaswani2017attention``."""
    authors = paper.authors or []
    surname = re.sub(r"[^a-z]", "", (authors[0].split()[-1] if authors else "anon").lower()) or "anon"
    year = paper.published_at.year if paper.published_at else ""
    first_word = next((w for w in re.findall(r"[a-z]+", paper.title.lower()) if len(w) > 3), "paper")
    return f"{surname}{year}{first_word}"


def bibliography(papers: list[Paper]) -> str:
    """Entries for several papers, keys made unique the way reference managers do (``...b``, ``...c``)."""
    used: set[str] = set()
    entries = []
    for paper in papers:
        base = key = citation_key(paper)
        suffixes = (chr(c) for c in range(ord("b"), ord("z") + 1))
        while key in used:
            key = base + next(suffixes, f"{len(used)}")
        used.add(key)
        entries.append(bibtex(paper, key))
    return "\n\n".join(entries) + "\n"


def bibtex(paper: Paper, key: str | None = None) -> str:
    """A ``@misc`` entry, keyed ``citation_key`` unless told otherwise."""
    authors = paper.authors or []
    year = paper.published_at.year if paper.published_at else ""

    def braced(text: str) -> str:
        return text.replace("\\", "").replace("{", "").replace("}", "")

    lines = [
        f"@misc{{{key or citation_key(paper)},",
        f"      title={{{braced(paper.title)}}},",
        f"      author={{{braced(' and '.join(authors))}}},",
        f"      year={{{year}}},",
    ]
    if paper.is_arxiv:
        lines += [f"      eprint={{{paper.arxiv_id}}},", "      archivePrefix={arXiv},"]
        if paper.primary_category:
            lines.append(f"      primaryClass={{{braced(paper.primary_category)}}},")
        lines.append(f"      url={{{paper.abs_url}}},")
    else:  # a local paper: no eprint; its DOI and project page, when known, say where it is
        if paper.doi:
            lines.append(f"      doi={{{braced(paper.doi)}}},")
        if paper.project_page:
            lines.append(f"      url={{{paper.project_page}}},")
        lines.append(f"      note={{papertide local id {paper.arxiv_id}}},")
    lines.append("}")
    return "\n".join(lines)

"""A paper's BibTeX entry, in the shape arXiv's own export gives, so a reader can paste it as is."""

from __future__ import annotations

import re

from papertide.catalog.models import Paper


def bibtex(paper: Paper) -> str:
    """A ``@misc`` entry keyed surname + year + first long title word, as arXiv keys them."""
    authors = paper.authors or []
    surname = re.sub(r"[^a-z]", "", (authors[0].split()[-1] if authors else "anon").lower()) or "anon"
    year = paper.published_at.year if paper.published_at else ""
    first_word = next((w for w in re.findall(r"[a-z]+", paper.title.lower()) if len(w) > 3), "paper")

    def braced(text: str) -> str:
        return text.replace("\\", "").replace("{", "").replace("}", "")

    lines = [
        f"@misc{{{surname}{year}{first_word},",
        f"      title={{{braced(paper.title)}}},",
        f"      author={{{braced(' and '.join(authors))}}},",
        f"      year={{{year}}},",
        f"      eprint={{{paper.arxiv_id}}},",
        "      archivePrefix={arXiv},",
    ]
    if paper.primary_category:
        lines.append(f"      primaryClass={{{braced(paper.primary_category)}}},")
    lines.append(f"      url={{{paper.abs_url}}},")
    lines.append("}")
    return "\n".join(lines)

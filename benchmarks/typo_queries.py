"""Typo'd title queries: the titles of the known-item set's targets, misspelt by a seeded generator.

    python benchmarks/typo_queries.py [--seed 11] > typos.jsonl

Each title gets one or two typos, in words of five letters or more that are not stopwords, each
one of: two neighbouring letters swapped, a letter dropped, a letter doubled, a letter replaced
by a neighbour on the keyboard (the errors people make, Damerau's four). The target stays the
title's paper, in the query format of ``search_quality.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re

KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
STOP = {"about", "which", "their", "there", "these", "those", "where", "while", "with", "from", "into"}


def neighbours(letter: str) -> str:
    for row in KEYBOARD:
        if letter in row:
            i = row.index(letter)
            return row[max(0, i - 1):i] + row[i + 1:i + 2]
    return "e"


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)  # people rarely get the first letter wrong
    kind = rng.choice(("swap", "drop", "double", "substitute"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    lower = word[i].lower()
    return word[:i] + (rng.choice(neighbours(lower)) if lower.isalpha() else "e") + word[i + 1:]


def misspell(title: str, rng: random.Random) -> str | None:
    words = list(re.finditer(r"[A-Za-z]{5,}", title))
    words = [m for m in words if m.group().lower() not in STOP]
    if not words:
        return None
    chosen = sorted(rng.sample(words, min(len(words), rng.choice((1, 2)))), key=lambda m: m.start(), reverse=True)
    for m in chosen:
        title = title[:m.start()] + typo(m.group(), rng) + title[m.end():]
    return title


def typo_queries(titles: dict[str, str], seed: int) -> list[dict]:
    rng = random.Random(seed)
    queries = []
    for target, title in sorted(titles.items()):
        text = misspell(title, rng)
        if text and text != title:
            queries.append({"query_id": f"typo-{target}", "kind": "typo", "text": text, "target": target})
    return queries


def main() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from search_quality import read_jsonl
    from shared_data import SHARED_DATA

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    data = SHARED_DATA / "benchmark_known_item"
    targets = {q["target"] for q in read_jsonl(data / "queries.jsonl")}
    titles = {d["doc_id"]: d["title"] for d in read_jsonl(data / "corpus.jsonl.gz") if d["doc_id"] in targets}
    for query in typo_queries(titles, args.seed):
        print(json.dumps(query))


if __name__ == "__main__":
    main()

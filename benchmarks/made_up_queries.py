"""Queries of made-up words, which no catalog holds: each must be answered with no results.

    python benchmarks/made_up_queries.py [--count 200] [--seed 7] > made_up.jsonl

Seeded, so a run is repeatable: one to three pronounceable non-words each (consonant-vowel
syllables, 5 to 10 letters), in the query format of ``search_quality.py`` (no target: nothing is
relevant). Pronounceable, because keyboard mash ("xqzvbnm") is the easy case; a word that looks
like English is the one a tokenizer splits into real pieces.
"""

from __future__ import annotations

import argparse
import json
import random

CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


def made_up_word(rng: random.Random) -> str:
    length = rng.randint(5, 10)
    letters = []
    while len(letters) < length:
        letters.append(rng.choice(CONSONANTS))
        letters.append(rng.choice(VOWELS))
        if rng.random() < 0.3:
            letters.append(rng.choice(CONSONANTS))
    return "".join(letters[:length])


def made_up_queries(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"query_id": f"made-up-{i}", "kind": "made_up",
             "text": " ".join(made_up_word(rng) for _ in range(rng.randint(1, 3)))} for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for query in made_up_queries(args.count, args.seed):
        print(json.dumps(query))


if __name__ == "__main__":
    main()

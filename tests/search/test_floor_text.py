"""What the relevance floor reads of a paper's text, made cheaper, must say exactly what it said:

- ``fold`` drops combining marks with ``str.translate``, as the generator it replaced did, for
  every character there is;
- ``floor.coverage`` finds each word's prefix with ``str.find``, as the regular expression it
  replaced did: a prefix held at the start of a word (``\\b``) anywhere in the text, never inside
  a word, for any text (punctuation, digits, underscores, other scripts)."""

from __future__ import annotations

import random
import re
import sys
import unicodedata

from papertide.search.floor import coverage
from papertide.search.keyword.terms import fold


def _regex_coverage(folded_text: str, shares: dict[str, float]) -> float:  # the implementation before
    prefixes = {w: w[: max(4, len(w) - 2)] for w in shares}
    pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(set(prefixes.values()), key=len, reverse=True)) + ")")
    found = set(pattern.findall(folded_text))
    return sum(share for w, share in shares.items() if any(f.startswith(prefixes[w]) for f in found))


def test_coverage_is_the_regular_expression_answer():
    rng = random.Random(5)
    pieces = ["model", "models", "remodel", "_model", "model_", "learning", "learn", "2024", "x2024", "diffusion",
              "über", "naïve", "模型", "learnin", " ", " ", ", ", "-", "(", "\x00", "a", "é"]
    words = ["model", "models", "learning", "learn", "2024", "diffusion", "uber", "naive", "模型模型", "sparse"]
    for _ in range(3000):
        text = fold("".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))))
        chosen = rng.sample(words, rng.randint(1, 4))
        shares = {w: rng.random() for w in chosen}
        assert coverage(text, shares) == _regex_coverage(text, shares), (text, shares)


def test_fold_drops_the_combining_marks_the_generator_dropped():
    def generator_fold(value: str) -> str:  # the implementation before
        value = value.lower()
        if not value.isascii():
            value = "".join(ch for ch in unicodedata.normalize("NFKD", value) if not unicodedata.combining(ch))
        return value

    everything = "".join(chr(point) for point in range(sys.maxunicode + 1) if not 0xD800 <= point <= 0xDFFF)
    for text in (everything, "Naïve Bayes über Ångström", "ascii only", "", "ﬁ ligature ½ x²"):
        assert fold(text) == generator_fold(text)

"""The lexicon's rules on a small vocabulary: what it corrects, what it never touches, whose name a
query is. (Behaviour on a real catalog, both backends: test_trust.py.)"""

from __future__ import annotations

from papertide.search.lexicon import Lexicon

WORDS = {"large": 400, "language": 500, "diffusion": 300, "models": 900, "model": 900, "attention": 200,
         "transformer": 150, "notes": 19, "forum": 1, "flywheel": 30}
NAMES = {"yoshua bengio": "Yoshua Bengio", "bo an": "Bo An", "hongyuan liu": "Hongyuan Liu", "hongyan liu": "Hongyan Liu"}


def lexicon() -> Lexicon:
    return Lexicon(WORDS, NAMES, papers=5_000)


def test_misspelt_words_become_the_common_words_near_them():
    corrected = lexicon().correct("larg langauge difusion modles")
    assert corrected.text == "large language diffusion models" and corrected.original == "larg langauge difusion modles"


def test_known_words_english_words_and_inflections_are_left_alone():
    words = lexicon()
    assert words.correct("large language models") is None
    assert words.correct("forum") is None  # rare in the catalog, but English
    assert words.correct("flywheels") is None  # the stemmer's business, not a typo


def test_a_query_with_a_word_nobody_can_read_is_not_guessed_at():
    words = lexicon()
    assert words.correct("sotes") is None  # "notes" is one edit away, but in too few papers
    assert words.correct("langauge xqzvbnm") is None  # one word cannot be read: no correction at all
    assert not words.knows_any("xqzvbnm flurble") and words.knows_any("flurble attention")


def test_an_author_in_any_order_or_one_typo_away_exact_names_first():
    words = lexicon()
    assert words.author("yoshua bengio") == words.author("Bengio Yoshua") == words.author("Yoshua Bengoi") == "Yoshua Bengio"
    assert words.author("Bo An") == "Bo An"  # a name may hold a stopword, when written exactly
    assert words.author("Hongyan Liu") == "Hongyan Liu"  # a real name is never "corrected" to a neighbour
    assert words.author("attention transformer") is None

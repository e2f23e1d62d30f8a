import pytest

from papertide.catalog.arxiv_ids import InvalidArxivId, is_arxiv_id, normalise_arxiv_id, parse_arxiv_id


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2405.15738", ("2405.15738", None)),
        ("2405.15738v2", ("2405.15738", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("arXiv:2405.15738v3", ("2405.15738", 3)),
        ("https://arxiv.org/abs/2405.15738v2", ("2405.15738", 2)),
        ("http://arxiv.org/pdf/2405.15738.pdf", ("2405.15738", None)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("  2405.15738 ", ("2405.15738", None)),
    ],
)
def test_parses_both_id_styles_with_and_without_versions(text, expected):
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize("text", ["abc", "", "2405.157", "2405.1573812", "24051.5738", "astro-ph/06010", "2405.15738v", "../etc/passwd", "1234.5678; DROP TABLE papers"])
def test_rejects_ids_of_the_wrong_shape_with_a_clear_message(text):
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        parse_arxiv_id(text)
    assert not is_arxiv_id(text)


@pytest.mark.parametrize("text, expected", [
    ("arXiv:2405.15738v2", "2405.15738"), ("https://arxiv.org/abs/astro-ph/0601001v1", "astro-ph/0601001"),
    ("not an id", None), ("", None), (None, None), ("2405.15738" + "x" * 500, None),
])
def test_lookups_normalise_to_the_catalog_key_or_none(text, expected):
    assert normalise_arxiv_id(text) == expected

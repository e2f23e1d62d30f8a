import pytest
from pydantic import ValidationError

from papertide.catalog.record import MAX_ABSTRACT, PaperRecord, describe_error


def make(**fields):
    return PaperRecord.model_validate({"arxiv_id": "2405.15738", "title": "A title", **fields})


def test_text_is_normalised():
    record = make(title="  Deep\n\tlearning\x00  for\u200b  all ", abstract="line one\n  line two")
    assert record.title == "Deep learning for all"
    assert record.abstract == "line one line two"


def test_version_is_split_off_the_id():
    record = make(arxiv_id="arXiv:2405.15738v4")
    assert (record.arxiv_id, record.version) == ("2405.15738", 4)


def test_huge_abstract_is_rejected_with_its_size():
    with pytest.raises(ValidationError) as caught:
        make(abstract="x" * (10 * 1024 * 1024))
    assert "abstract" in describe_error(caught.value)
    assert f"limit is {MAX_ABSTRACT:,}" in describe_error(caught.value)


@pytest.mark.parametrize("title", ["<script>alert(1)</script> Attention", "Nice <img src=x onerror=alert(1)>", "<b>Bold</b> claims"])
def test_html_in_titles_is_rejected(title):
    with pytest.raises(ValidationError) as caught:
        make(title=title)
    assert "titles must be plain text" in describe_error(caught.value)


def test_angle_bracket_tokens_that_are_not_html_are_kept():
    assert make(title="Teaching models to <think> before answering").title == "Teaching models to <think> before answering"


def test_urls_must_be_http_and_wrapped_urls_are_joined():
    assert make(github_repo="https://github.com/a/\nb").github_repo == "https://github.com/a/b"
    with pytest.raises(ValidationError, match="not an http"):
        make(project_page="javascript:alert(1)")


def test_bad_arxiv_id_is_a_validation_error():
    with pytest.raises(ValidationError) as caught:
        make(arxiv_id="abc")
    assert "not an arXiv id" in describe_error(caught.value)


def test_authors_accept_names_or_name_objects():
    assert make(authors=[{"name": " Ada  Lovelace "}, "Alan Turing", ""]).authors == ["Ada Lovelace", "Alan Turing"]

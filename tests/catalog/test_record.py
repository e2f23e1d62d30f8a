from datetime import datetime, timedelta, timezone

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


@pytest.mark.parametrize("fields, where", [
    ({"published_at": "9999-12-31T00:00:00Z"}, "published_at"),
    ({"updated_at": "1899-12-31T23:59:59Z"}, "updated_at"),
    ({"published_at": "0001-01-01T00:00:00+01:00"}, "published_at"),  # overflows when moved to UTC
    ({"updated_at": "9999-12-31T23:00:00-05:00"}, "updated_at"),  # so does this
    ({"daily": {"date": "9999-12-31"}}, "daily.date"),
    ({"daily": {"date": "0001-01-01"}}, "daily.date"),
    ({"daily": {"date": "2025-01-02", "submitted_at": "9999-12-31T23:59:59-12:00"}}, "daily.submitted_at"),
])
def test_dates_outside_the_accepted_range_are_rejected_with_the_range(fields, where):
    with pytest.raises(ValidationError) as caught:
        make(**fields)
    message = describe_error(caught.value)
    assert message.startswith(f"{where}: ") and "outside the accepted range 1900-01-01" in message, message


def test_the_range_ends_a_week_after_today():
    today = datetime.now(timezone.utc).date()
    assert make(daily={"date": today + timedelta(days=7)}).daily.date == today + timedelta(days=7)
    with pytest.raises(ValidationError, match="outside the accepted range"):
        make(daily={"date": today + timedelta(days=8)})
    assert make(published_at="1986-04-25T15:39:49Z").published_at.year == 1986  # arXiv's own back-dated records


@pytest.mark.parametrize("field", ["upvotes", "num_comments", "github_stars"])
def test_counts_are_bounded_so_sums_fit_a_32_bit_column(field):
    assert getattr(make(**{field: 1_000_000_000}), field) == 1_000_000_000
    with pytest.raises(ValidationError, match="less than or equal to 1000000000"):
        make(**{field: 2**31})

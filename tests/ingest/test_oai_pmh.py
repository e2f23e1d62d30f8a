"""arXiv OAI-PMH harvests: real pages over real HTTP, resumption tokens, errors, resuming after an interruption."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from papertide.catalog.checkpoints import load_checkpoint, save_checkpoint
from papertide.catalog.models import Paper
from papertide.ingest.base import Checkpoint
from papertide.ingest.http import PoliteFetcher
from papertide.ingest.oai_pmh import HarvestRequest, OaiError, OaiFileSource, OaiHarvestSource, parse_page, split_authors
from papertide.ingest.runner import ingest
from tests.conftest import REPO
from tests.ingest.conftest import XML, recorded, run_cli
from tests.ingest.dump import canonical_dump
from tests.ingest.replay import Reply

OAI = "/oai"
FIRST = {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "from": "2016-10-20", "until": "2016-10-21"}
SECOND = {"verb": "ListRecords", "resumptionToken": "1403493|1001"}
LAST = {"verb": "ListRecords", "resumptionToken": "726959|1001"}


def page(name: str) -> Reply:
    return Reply.file(recorded(name), XML)


def route_chain(replay, *, interrupt: bool = False) -> None:
    """Three pages, as a real harvest walks them: two recorded ones, then the constructed last one."""
    replay.route(OAI, FIRST, page("arxiv_oai/litpuvn_ListRecords_arXivRaw.xml"))
    replay.route(OAI, SECOND, page("arxiv_oai/mikesaelim_ListRecordsResponse.xml"))
    last = page("constructed/oai_last_page_arXivRaw.xml")
    replay.route(OAI, LAST, *([Reply(500, b"Internal Server Error"), last] if interrupt else [last]))


def request(replay) -> HarvestRequest:
    return HarvestRequest(replay.url + OAI, "arXivRaw", date(2016, 10, 20), date(2016, 10, 21))


def harvest(database, replay, resume_token=None):
    source = OaiHarvestSource(request(replay), PoliteFetcher(delay=0), resume_token=resume_token)
    return ingest(database, source, progress=False)


def test_arxiv_raw_takes_the_newest_version_and_the_first_versions_date():
    records = {r.arxiv_id: r for r in OaiFileSource(recorded("arxiv_oai/mikesaelim_ListRecordsResponse.xml"))}
    assert len(records) == 6
    paper = records["0704.0716"]  # v1 .. v4
    assert paper.version == 4
    assert paper.published_at == datetime(2007, 4, 5, 12, 45, 3, tzinfo=timezone.utc)
    assert paper.updated_at == datetime(2008, 11, 14, 9, 7, 25, tzinfo=timezone.utc)
    assert paper.categories == ["math-ph", "math.MP"] and paper.primary_category == "math-ph"
    assert paper.comment.startswith("54 pages, 2 figures; v2 updated")
    assert records["0704.0471"].authors == ["D.V. Shetty", "S.J. Yennello", "G.A. Souliotis"]
    assert records["0704.0471"].doi == "10.1103/PhysRevC.76.024606"


def test_oai_dc_records():
    records = list(OaiFileSource(recorded("arxiv_oai/atomiklabs_ListRecords_oai_dc.xml")))
    assert len(records) == 5
    first = records[0]
    assert (first.arxiv_id, first.version, first.title) == ("1303.2033", None, "Extended Fourier analysis of signals")
    assert first.authors == ["Vilnis Liepins"]
    assert first.comment == "32 pages, 9 figures" and first.abstract.startswith("This summary of the doctoral thesis")
    assert first.published_at.date() == date(2013, 3, 8) and first.updated_at.date() == date(2024, 1, 23)


def test_author_lists_with_affiliations_and_suffixes():
    assert split_authors("A. One (MIT, Cambridge), B. Two and C. Three, Jr.") == ["A. One", "B. Two", "C. Three, Jr."]


def test_nested_and_unmatched_parentheses_in_author_lists():
    assert split_authors("A. One (Dept. (CS), MIT), B. Two ((x) y)") == ["A. One", "B. Two"]
    assert split_authors("A. One (MIT, B. Two (x)") == ["A. One (MIT", "B. Two"]  # an unmatched "(" stays
    assert split_authors("A. One), B. Two") == ["A. One)", "B. Two"]


def test_an_authors_field_of_100000_nested_parentheses_is_split_in_linear_time():
    """Removing innermost pairs until none was left took minutes here; a fresh process, so that a
    regression fails at the timeout instead of holding up the suite."""
    code = "from papertide.ingest.oai_pmh import split_authors; print(split_authors('A. One ' + '(' * 100000 + ')' * 100000 + ', B. Two'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(REPO / "src")})
    assert result.stdout.strip() == "['A. One', 'B. Two']", result.stderr


def test_no_records_match_is_an_empty_harvest_other_errors_are_errors():
    empty = parse_page(recorded("arxiv_oai/mikesaelim_ErrorResponseNoRecordsMatch.xml").read_bytes(), "page")
    assert empty.items == [] and empty.token is None
    for name, code in [("BadArgument", "badArgument"), ("BadVerb", "badVerb"), ("BadResumptionToken", "badResumptionToken")]:
        with pytest.raises(OaiError, match=f"OAI-PMH error {code}") as caught:
            parse_page(recorded(f"arxiv_oai/mikesaelim_ErrorResponse{name}.xml").read_bytes(), "page")
        assert caught.value.code == code


def test_a_harvest_follows_resumption_tokens_to_the_last_page(replay, database):
    route_chain(replay)
    summary = harvest(database, replay)
    assert summary.error is None
    assert summary.counts.added == 387 + 6 + 1
    assert [r.params for r in replay.requests] == [FIRST, SECOND, LAST]
    with database.session() as session:
        assert load_checkpoint(session, request(replay).key) is None  # finished: nothing to resume
        assert session.scalar(select(Paper.version).where(Paper.arxiv_id == "1302.2146")) == 2


def test_each_page_yields_a_checkpoint_with_the_next_token(replay):
    route_chain(replay)
    source = OaiHarvestSource(request(replay), PoliteFetcher(delay=0))
    checkpoints = [item.state for item in source if isinstance(item, Checkpoint)]
    assert checkpoints == [
        {"resumptionToken": "1403493|1001", "cursor": 0, "completeListSize": 1440},
        {"resumptionToken": "726959|1001", "cursor": 0, "completeListSize": 58011},
        None,
    ]


def test_an_interrupted_harvest_resumes_where_it_stopped_and_ends_like_a_clean_one(replay, database, make_database):
    route_chain(replay, interrupt=True)
    first = run_cli("harvest", "arxiv", "--from", "2016-10-20", "--until", "2016-10-21", "--delay", "0", "--quiet",
                    database_url=database.url, env={"PAPERTIDE_ARXIV_OAI_URL": replay.url + OAI})
    assert first.returncode == 1
    assert b"OAI-PMH harvest stopped" in first.stderr and b"HTTP 500" in first.stderr
    with database.session() as session:
        assert load_checkpoint(session, request(replay).key)["resumptionToken"] == "726959|1001"
        assert session.query(Paper).count() == 387 + 6  # the two stored pages

    del replay.requests[:]
    second = run_cli("harvest", "arxiv", "--from", "2016-10-20", "--until", "2016-10-21", "--delay", "0", "--quiet",
                     database_url=database.url, env={"PAPERTIDE_ARXIV_OAI_URL": replay.url + OAI})
    assert second.returncode == 0, second.stderr
    assert b"resuming the interrupted harvest" in second.stderr
    assert [r.params for r in replay.requests] == [LAST]  # picks up at the saved token, nothing re-fetched
    assert second.stdout.strip().endswith(b"added 1 / updated 0 / unchanged 0 / rejected 0")

    clean = make_database()
    route_chain(replay)
    harvest(clean, replay)
    assert canonical_dump(database) == canonical_dump(clean)


def test_an_expired_saved_token_says_to_restart(replay, database):
    replay.route(OAI, {"verb": "ListRecords", "resumptionToken": "3"},
                 page("arxiv_oai/mikesaelim_ErrorResponseBadResumptionToken.xml"))
    summary = harvest(database, replay, resume_token="3")
    assert "badResumptionToken" in summary.error and "--restart" in summary.error


def test_harvest_with_no_matching_records_is_not_an_error(replay, database):
    replay.route(OAI, {"verb": "ListRecords", "metadataPrefix": "arXivRaw", "set": "moo"},
                 page("arxiv_oai/mikesaelim_ErrorResponseNoRecordsMatch.xml"))
    result = run_cli("harvest", "arxiv", "--set", "moo", "--delay", "0", "--quiet",
                     database_url=database.url, env={"PAPERTIDE_ARXIV_OAI_URL": replay.url + OAI})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == b"added 0 / updated 0 / unchanged 0 / rejected 0"


def test_oai_dc_harvest_with_a_set(replay, database):
    replay.route(OAI, {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2024-01-25", "set": "cs"},
                 page("arxiv_oai/atomiklabs_ListRecords_oai_dc.xml"))
    replay.route(OAI, {"verb": "ListRecords", "resumptionToken": "6960524|1001"},
                 page("arxiv_oai/mikesaelim_ErrorResponseNoRecordsMatch.xml"))
    source = OaiHarvestSource(HarvestRequest(replay.url + OAI, "oai_dc", date(2024, 1, 25), None, "cs"), PoliteFetcher(delay=0))
    summary = ingest(database, source, progress=False)
    assert summary.error is None and summary.counts.added == 5


def test_restart_forgets_the_saved_token(replay, database):
    route_chain(replay)
    with database.session() as session:
        save_checkpoint(session, request(replay).key, {"resumptionToken": "726959|1001"})
    result = run_cli("harvest", "arxiv", "--from", "2016-10-20", "--until", "2016-10-21", "--delay", "0", "--quiet",
                     "--restart", database_url=database.url, env={"PAPERTIDE_ARXIV_OAI_URL": replay.url + OAI})
    assert result.returncode == 0, result.stderr
    assert [r.params for r in replay.requests] == [FIRST, SECOND, LAST]
    assert result.stdout.strip() == b"added 394 / updated 0 / unchanged 0 / rejected 0"


def test_a_server_that_repeats_its_token_does_not_loop_forever(replay, database):
    route_chain(replay)
    replay.route(OAI, SECOND, page("arxiv_oai/litpuvn_ListRecords_arXivRaw.xml"))  # hands out 1403493|1001 again
    summary = harvest(database, replay)
    assert "answered token '1403493|1001' with the same token" in summary.error
    assert len(replay.requests) == 2

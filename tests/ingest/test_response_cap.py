"""A harvest caps what one response may hold, decompressed: a gzip bomb fails its request with a clear
error instead of filling memory (issue 19: a 300 MB bomb peaked at 726 MB RSS)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zlib

import pytest

from papertide.ingest.http import MAX_RESPONSE_BYTES, FetchError, PoliteFetcher
from tests.conftest import REPO
from tests.ingest.conftest import JSON, recorded, run_cli
from tests.ingest.replay import Reply

MB = 2**20
BOMB_MB = 300


def gzip_bomb(megabytes: int) -> bytes:
    """A valid gzip stream of ``megabytes`` MB of zeros, about 1,000 times smaller than that.

    Made from one compressed megabyte repeated: a full flush leaves each copy free of references
    to the one before, so the copies concatenate into one deflate stream.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(MB)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (megabytes * MB % 2**32).to_bytes(4, "little")
    return header + block * megabytes + compressor.flush() + trailer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(BOMB_MB)
    assert len(data) < BOMB_MB * MB // 500
    return data


def test_the_bomb_is_real(bomb):
    assert len(zlib.decompress(bomb, 16 + zlib.MAX_WBITS)) == BOMB_MB * MB


def serve_bomb(replay, bomb: bytes, path: str = "/bomb", params: dict | None = None) -> str:
    replay.route(path, params or {}, Reply(200, bomb, {"Content-Type": JSON, "Content-Encoding": "gzip"}))
    return replay.url + path


def test_a_gzip_bomb_fails_its_request_with_a_clear_error(replay, bomb):
    url = serve_bomb(replay, bomb)
    with pytest.raises(FetchError, match=r"the response is larger than the limit of 8 MB"):
        PoliteFetcher(delay=0, retries=0, max_bytes=8 * MB).get(url)


def test_a_response_under_the_cap_is_read_whole(replay):
    day = recorded("hf_api/daily_papers_2025-08-20.json").read_bytes()
    replay.route("/day", {}, Reply(200, zlib.compress(day, wbits=16 + zlib.MAX_WBITS),
                                   {"Content-Type": JSON, "Content-Encoding": "gzip"}))
    replay.route("/plain", {}, Reply(200, day, {"Content-Type": JSON}))
    fetcher = PoliteFetcher(delay=0, retries=0, max_bytes=len(day))
    assert fetcher.get(replay.url + "/day").content == day
    assert fetcher.get(replay.url + "/plain").content == day
    with pytest.raises(FetchError, match="larger than the limit"):
        PoliteFetcher(delay=0, retries=0, max_bytes=len(day) - 1).get(replay.url + "/plain")


GZIPPED_DAY = zlib.compress(recorded("hf_api/daily_papers_2025-08-20.json").read_bytes(), wbits=16 + zlib.MAX_WBITS)


@pytest.mark.parametrize("body, encoding, message", [
    (GZIPPED_DAY[:-100], "gzip", "the gzip-compressed response is cut short"),
    (GZIPPED_DAY[:20] + bytes(200) + GZIPPED_DAY[220:], "gzip", "the gzip-compressed response is damaged"),
    (b"\x28\xb5\x2f\xfd", "zstd", "unsupported Content-Encoding 'zstd' (gzip was asked for)"),
])
def test_a_body_that_cannot_be_decoded_fails_its_request_clearly(replay, body, encoding, message):
    replay.route("/day", {}, Reply(200, body, {"Content-Type": JSON, "Content-Encoding": encoding}))
    with pytest.raises(FetchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PoliteFetcher(delay=0, retries=0).get(replay.url + "/day")
    assert replay.requests[-1].headers["accept-encoding"] == "gzip"


MEASURE = textwrap.dedent("""
    import resource, sys
    from papertide.ingest.http import FetchError, PoliteFetcher

    fetcher = PoliteFetcher(delay=0, retries=0)
    fetcher.get(sys.argv[1])  # everything a request needs is loaded before the baseline
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        response = fetcher.get(sys.argv[2])
        print(f"read {len(response.content):,} bytes")
    except FetchError as error:
        print(f"error: {error}")
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
""")


def test_memory_stays_bounded_while_a_bomb_is_refused(replay, bomb):
    """In a fresh process, so that its peak resident size is this request's alone."""
    replay.route("/small", {}, Reply(200, b"[]", {"Content-Type": JSON}))
    url = serve_bomb(replay, bomb)
    result = subprocess.run([sys.executable, "-c", MEASURE, replay.url + "/small", url], capture_output=True,
                            text=True, timeout=300, env={"PYTHONPATH": str(REPO / "src")}, cwd=REPO)
    assert result.returncode == 0, result.stderr
    message, growth_mb = result.stdout.splitlines()
    assert message.startswith("error: ") and "larger than the limit of 50 MB" in message, message
    assert int(growth_mb) < MAX_RESPONSE_BYTES // MB + 32, f"peak RSS grew by {growth_mb} MB"


def test_harvest_hf_records_the_refused_day_and_keeps_the_days_before_it(replay, database, bomb):
    replay.route("/api/daily_papers", {"date": "2025-08-20"},
                 Reply.file(recorded("hf_api/daily_papers_2025-08-20.json"), JSON))
    serve_bomb(replay, bomb, "/api/daily_papers", {"date": "2025-08-21"})
    result = run_cli("harvest", "hf", "--from", "2025-08-20", "--until", "2025-08-21", "--delay", "0", "--quiet",
                     database_url=database.url, env={"PAPERTIDE_HF_API_URL": replay.url + "/api"})
    assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr.decode()[-2000:]
    error = result.stderr.decode().strip().splitlines()[-1]
    assert error.startswith("error: Hugging Face daily_papers for 2025-08-21: ") and "larger than the limit of 50 MB" in error
    assert result.stdout.strip() == b"added 14 / updated 0 / unchanged 0 / rejected 0"

"""Several processes writing to one database at once, as on a server with cron jobs and workers."""

import gzip
import json
import subprocess
import sys

from sqlalchemy import func, select

from papertide.catalog.models import DailyEntry, Paper
from tests.conftest import DEMO_CORPUS


def papertide(database_url: str, *args: str) -> subprocess.Popen:
    env = {**__import__("os").environ, "PAPERTIDE_DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "-m", "papertide", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def corpus_slice(path, count: int) -> list[str]:
    with gzip.open(DEMO_CORPUS, "rt", encoding="utf-8") as lines:
        rows = [next(lines) for _ in range(count)]
    path.write_text("".join(rows), encoding="utf-8")
    return [json.loads(row)["arxiv_id"] for row in rows]


def test_three_ingests_of_the_same_file_at_once_all_succeed_and_store_each_paper_once(database, tmp_path):
    source = tmp_path / "papers.jsonl"
    ids = corpus_slice(source, 2500)
    runs = [papertide(database.url, "ingest", "--quiet", str(source)) for _ in range(3)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    added = sum(int(out.split("added ")[1].split(" ")[0].replace(",", "")) for _, out, _ in results)
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(Paper))
        listed = session.scalar(select(func.count()).select_from(DailyEntry))
    assert stored == len(set(ids)) == added
    assert listed == len(set(ids))

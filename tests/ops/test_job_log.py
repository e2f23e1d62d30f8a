"""``log_job_run``: the one call a job makes when it ends, read back as JSON and as metrics."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from papertide import metrics
from papertide.logging_setup import configure_logging, log_job_run


def job_samples() -> dict[tuple[str, tuple], float]:
    body, _ = metrics.exposition()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples
            if s.name.startswith("papertide_job")}


def test_job_runs_are_logged_as_json_and_counted(capsys):
    configure_logging("INFO", "json")
    before = job_samples()
    log_job_run("harvest", "hf-daily", {"added": 14, "updated": 2}, 3.25)
    log_job_run("harvest", "arxiv-cs", {"added": 0}, 0.5, error="HTTP 503 from export.arxiv.org")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    done, failed = [line for line in lines if line["logger"] == "papertide.jobs"]
    assert done["level"] == "INFO" and done["job"] == "harvest" and done["source"] == "hf-daily"
    assert done["counts"] == {"added": 14, "updated": 2} and done["seconds"] == 3.25 and done["ok"] is True
    assert done["message"] == "job harvest hf-daily finished in 3.2 s: added 14, updated 2"
    assert failed["level"] == "ERROR" and failed["ok"] is False and failed["error"] == "HTTP 503 from export.arxiv.org"
    after = job_samples()
    run, fail = ("papertide_jobs_run_total", (("job", "harvest"),)), ("papertide_jobs_failed_total", (("job", "harvest"),))
    assert after[run] - before.get(run, 0) == 2 and after[fail] - before.get(fail, 0) == 1
    assert after[("papertide_job_duration_seconds_count", (("job", "harvest"),))] - \
        before.get(("papertide_job_duration_seconds_count", (("job", "harvest"),)), 0) == 2

"""The admin Sources page: moderators only, every source and job with its state, and a "run now"
button that needs the session's CSRF token and is answered by the next worker pass."""

from __future__ import annotations

from datetime import date, datetime, timezone

from fastapi.testclient import TestClient

from papertide.web.app import create_app
from papertide.worker.scheduler import Worker
from tests.web.helpers import PASSWORD, Visitor, make_admin
from tests.web.helpers import settings_for as web_settings
from tests.worker.conftest import job_rows, route_hf, settings_for

UTC = timezone.utc
MORNING = datetime(2026, 8, 20, 9, 0, tzinfo=UTC)


def signed_in(client: TestClient, database, name: str, admin: bool) -> Visitor:
    visitor = Visitor(client)
    visitor.sign_up(name, PASSWORD)
    if admin:
        make_admin(database, name)
    return visitor


def test_moderators_see_each_source_and_can_ask_for_a_run(database, replay, simulated):
    time = simulated(MORNING)
    worker = Worker(database, settings_for(database, replay), time.clock)
    assert not worker.run_once()[0].ok  # Hugging Face not routed yet: the error must show
    app = create_app(web_settings(database), database=database, clock=lambda: MORNING)
    with TestClient(app, base_url="http://testserver") as client:
        assert client.get("/admin/sources", follow_redirects=False).status_code == 303  # log in first
        reader = signed_in(client, database, "reader", admin=False)
        assert client.get("/admin/sources").status_code == 403
        assert reader.post("/admin/sources/run", {"job": "source:hf-daily"}, json_api=False,
                           follow_redirects=False).status_code == 403
        client.cookies.clear()

        admin = signed_in(client, database, "curator", admin=True)
        page = client.get("/admin/sources").text
        row = page.split('data-testid="job-source:hf-daily"', 1)[1].split("</tr>", 1)[0]
        assert "every 30 minutes" in row and ">failed<" in row and "HTTP 404" in row
        assert 'data-testid="job-search-index"' in page

        no_token = client.post("/admin/sources/run", data={"job": "source:hf-daily"}, follow_redirects=False)
        assert no_token.status_code == 403  # CSRF
        unknown = admin.post("/admin/sources/run", {"job": "source:nope"}, json_api=False, follow_redirects=False)
        assert unknown.status_code == 303 and "There is no job" in client.get("/admin/sources").text
        asked = admin.post("/admin/sources/run", {"job": "source:hf-daily"}, json_api=False, follow_redirects=False)
        assert asked.status_code == 303 and asked.headers["location"] == "/admin/sources"
        assert "as soon as a worker is free" in client.get("/admin/sources").text

    row = job_rows(database)["source:hf-daily"]
    assert row.requests == row.served + 1
    route_hf(replay, {date(2026, 8, 19): "2026-08-19", date(2026, 8, 20): "2026-08-20"})
    ran = worker.run_once()  # the clock has not moved: it runs because it was asked
    assert [(r.job, r.ok, r.slot) for r in ran] == [("source:hf-daily", True, None), ("search-index", True, None)]

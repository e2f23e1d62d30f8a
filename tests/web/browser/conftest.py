"""Browser-test fixtures: one live demo site (on the test backend) and one chromium per session, a
fresh browser context (cookies, storage) per test, run once at desktop size and once at phone size.
The site sends its mail (password resets) to a real SMTP server on loopback, kept for the session."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import sync_playwright

from tests.conftest import BACKEND
from tests.digest.conftest import RecordingHandler, SmtpServer, free_port
from tests.web.browser.harness import launch_chromium, serve_demo

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
}


@pytest.fixture(scope="session")
def mail_server():
    """aiosmtpd on a free port, keeping every message the site sends."""
    handler, port = RecordingHandler(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    server = SmtpServer(handler, port, controller)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def site(request, tmp_path_factory, mail_server):
    """The demo site on the test backend (SQLite, or PostgreSQL in the PostgreSQL run)."""
    mail_settings = {"PAPERTIDE_SMTP_HOST": "127.0.0.1", "PAPERTIDE_SMTP_PORT": str(mail_server.port),
                     "PAPERTIDE_MAIL_FROM": "papertide <accounts@papertide.test>"}
    factory = request.getfixturevalue(f"{BACKEND}_databases")
    database = factory.create()
    try:
        with serve_demo(tmp_path_factory.mktemp("browser-site"), database=database, extra_env=mail_settings) as running:
            yield running
    finally:
        factory.drop(database)


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def page(chromium, site, viewport):
    """A page in a fresh context; console errors (a CSP violation shows up as one) are collected."""
    context = chromium.new_context(base_url=site.base_url, **VIEWPORTS[viewport])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    yield page
    context.close()

"""SMTP security settings against real TLS servers: STARTTLS with login, implicit TLS, and the
failures that must stop a run without losing anything (bad password, untrusted certificate)."""

from __future__ import annotations

import ssl
from collections import Counter
from datetime import timedelta

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from papertide.digest import outbox
from papertide.digest.run import DeliveryPolicy, run_digests

from .conftest import MONDAY, RecordingHandler, confirmed, free_port, make_settings

NO_WAIT = DeliveryPolicy(retry_window=timedelta(0))


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def trusted(ca, tmp_path, monkeypatch):
    """The test CA made trusted the way an operator would: through SSL_CERT_FILE."""
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    monkeypatch.setenv("SSL_CERT_FILE", str(path))
    return ca


def server_context(ca) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"papertide", b"s3cret")
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture
def tls_server(ca):
    controllers = []

    def start(**options) -> tuple[RecordingHandler, int]:
        handler, port = RecordingHandler(), free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


def starttls_options(ca):
    return dict(tls_context=server_context(ca), require_starttls=True, authenticator=check_login, auth_require_tls=True)


def test_starttls_with_login(papers, trusted, tls_server):
    confirmed(papers, 3)
    handler, port = tls_server(**starttls_options(trusted))
    settings = make_settings(papers, port).with_changes(smtp_security="starttls", smtp_username="papertide", smtp_password="s3cret")
    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert report.sent == 3 and len(handler.received) == 3


def test_implicit_tls(papers, trusted, tls_server):
    confirmed(papers, 2)
    handler, port = tls_server(ssl_context=server_context(trusted))
    report = run_digests(papers, make_settings(papers, port).with_changes(smtp_security="tls"), MONDAY, policy=NO_WAIT)
    assert report.sent == 2 and len(handler.received) == 2


def test_a_refused_login_stops_the_run_and_keeps_every_digest_queued(papers, trusted, tls_server):
    confirmed(papers, 3)
    handler, port = tls_server(**starttls_options(trusted))
    settings = make_settings(papers, port).with_changes(smtp_security="starttls", smtp_username="papertide", smtp_password="wrong")
    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert report.sent == 0 and "SMTP login refused: 535" in report.stopped
    assert Counter(row.status for row in outbox.rows_for(papers, MONDAY.key)) == Counter({"pending": 3})
    assert not handler.received


def test_an_untrusted_certificate_is_refused(papers, ca, tls_server):
    confirmed(papers, 1)
    handler, port = tls_server(**starttls_options(ca))  # the CA is not trusted here
    settings = make_settings(papers, port).with_changes(smtp_security="starttls", smtp_username="papertide", smtp_password="s3cret")
    report = run_digests(papers, settings, MONDAY, policy=NO_WAIT)
    assert report.sent == 0 and "CERTIFICATE_VERIFY_FAILED" in report.stopped
    assert not handler.received

"""SMTP delivery with one reused connection, and failures sorted into what to do next.

``SmtpMailer.send`` either returns (the server answered 250 to the message) or raises one of:

* ``TemporaryFailure``: a 4xx answer; try this message again later;
* ``ConnectionFailure`` (a ``TemporaryFailure``): the server is down, refused the connection,
  timed out or closed it (421); the next send reconnects;
* ``PermanentFailure``: a 5xx answer about this recipient or message; stop sending to the address;
* ``SenderRejected``: the server refuses us (authentication, sender address): a configuration
  problem that no retry of this message will fix, so the run stops.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import Message
from email.utils import parseaddr
from urllib.parse import urlsplit

from papertide.config import Settings

DEFAULT_TIMEOUT = 30.0


class DeliveryError(Exception):
    def __init__(self, reason: str, code: int | None = None):
        super().__init__(reason)
        self.code = code


class TemporaryFailure(DeliveryError):
    pass


class ConnectionFailure(TemporaryFailure):
    pass


class PermanentFailure(DeliveryError):
    pass


class SenderRejected(DeliveryError):
    pass


def _reason(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


def _by_code(code: int, message: bytes | str) -> DeliveryError:
    reason = _reason(code, message)
    if code == 421:  # "service not available, closing transmission channel"
        return ConnectionFailure(reason, code)
    if 400 <= code < 500:
        return TemporaryFailure(reason, code)
    return PermanentFailure(reason, code)


class SmtpMailer:
    """Sends messages over one SMTP connection, opened on first use and reopened after a drop."""

    def __init__(self, settings: Settings, *, timeout: float = DEFAULT_TIMEOUT):
        self.settings = settings
        self.timeout = timeout
        self.sender = parseaddr(settings.mail_from)[1] or settings.mail_from
        # Naming ourselves avoids smtplib's reverse-DNS lookup of this machine on every connect.
        self.local_hostname = urlsplit(settings.base_url).hostname or "localhost"
        self._connection: smtplib.SMTP | None = None
        self.connections_opened = 0

    def __enter__(self) -> "SmtpMailer":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        security = (s.smtp_security or "none").lower()
        try:
            if security == "tls":
                connection = smtplib.SMTP_SSL(
                    s.smtp_host, s.smtp_port, local_hostname=self.local_hostname, timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                connection = smtplib.SMTP(s.smtp_host, s.smtp_port, local_hostname=self.local_hostname, timeout=self.timeout)
                if security == "starttls":
                    connection.starttls(context=ssl.create_default_context())
                elif security != "none":
                    raise SenderRejected(f"unknown PAPERTIDE_SMTP_SECURITY {security!r}: use none, starttls or tls")
            if s.smtp_username:
                connection.login(s.smtp_username, s.smtp_password)
        except smtplib.SMTPAuthenticationError as error:
            raise SenderRejected(f"SMTP login refused: {_reason(error.smtp_code, error.smtp_error)}", error.smtp_code) from error
        except smtplib.SMTPNotSupportedError as error:
            raise SenderRejected(f"SMTP server {s.smtp_host}:{s.smtp_port}: {error}") from error
        except smtplib.SMTPResponseException as error:
            raise _by_code(error.smtp_code, error.smtp_error) from error
        except (OSError, smtplib.SMTPException) as error:  # refused, unreachable, timeout, TLS failure
            raise ConnectionFailure(f"cannot reach SMTP server {s.smtp_host}:{s.smtp_port}: {error}") from error
        self.connections_opened += 1
        return connection

    def send(self, message: Message, recipient: str) -> None:
        """Hand ``message`` to the server for ``recipient``; returns once it answered 250."""
        data = message.as_bytes()  # with the message's own policy (compose.MAIL_POLICY: CRLF, long headers whole)
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._connection.sendmail(self.sender, [recipient], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, text = error.recipients.get(recipient, (550, b"recipient refused"))
            raise self._after(_by_code(code, text)) from error
        except smtplib.SMTPSenderRefused as error:
            failure = _by_code(error.smtp_code, error.smtp_error)
            if isinstance(failure, PermanentFailure):
                failure = SenderRejected(f"sender {self.sender} refused: {failure}", error.smtp_code)
            raise self._after(failure) from error
        except smtplib.SMTPResponseException as error:  # SMTPDataError and other replies
            raise self._after(_by_code(error.smtp_code, error.smtp_error)) from error
        except (OSError, smtplib.SMTPException) as error:  # disconnected, timed out
            self._drop()
            raise ConnectionFailure(f"SMTP connection lost: {error}") from error

    def _after(self, failure: DeliveryError) -> DeliveryError:
        """Forget the connection when the server closed it (smtplib does on 421)."""
        if isinstance(failure, ConnectionFailure) or self._connection is None or self._connection.sock is None:
            self._drop()
        return failure

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass

    def close(self) -> None:
        """Say QUIT politely when the connection is still there."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()

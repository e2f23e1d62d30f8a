"""Signed links in emails: confirm a subscription, unsubscribe, manage preferences.

Each purpose has its own salt, so a token made for one can never be used for another, and each
carries the subscription id and address, so a token stops working once the address changes.
Confirmation links expire; unsubscribe and preference links must keep working from any old
digest in someone's inbox, so they are signed but do not expire.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_MAX_AGE = 3 * 24 * 3600  # seconds a confirmation link stays valid

_CONFIRM = "papertide.digest.confirm"
_UNSUBSCRIBE = "papertide.digest.unsubscribe"
_MANAGE = "papertide.digest.manage"


class InvalidToken(ValueError):
    """A link that was tampered with, made for something else, or has expired."""


@dataclass(frozen=True)
class TokenSubject:
    subscription_id: int
    email: str


class DigestTokens:
    def __init__(self, secret_key: str):
        self._confirm = URLSafeTimedSerializer(secret_key, salt=_CONFIRM)
        self._unsubscribe = URLSafeSerializer(secret_key, salt=_UNSUBSCRIBE)
        self._manage = URLSafeSerializer(secret_key, salt=_MANAGE)

    def confirm(self, subscription_id: int, email: str) -> str:
        return self._confirm.dumps([subscription_id, email])

    def unsubscribe(self, subscription_id: int, email: str) -> str:
        return self._unsubscribe.dumps([subscription_id, email])

    def manage(self, subscription_id: int, email: str) -> str:
        return self._manage.dumps([subscription_id, email])

    def read_confirm(self, token: str, max_age: int = CONFIRM_MAX_AGE) -> TokenSubject:
        try:
            return _subject(self._confirm.loads(token, max_age=max_age))
        except SignatureExpired as error:
            raise InvalidToken("this confirmation link has expired; subscribe again to get a new one") from error
        except (BadSignature, TypeError, ValueError) as error:
            raise InvalidToken("this confirmation link is not valid") from error

    def read_unsubscribe(self, token: str) -> TokenSubject:
        return self._read(self._unsubscribe, token, "unsubscribe")

    def read_manage(self, token: str) -> TokenSubject:
        return self._read(self._manage, token, "preferences")

    @staticmethod
    def _read(serializer: URLSafeSerializer, token: str, what: str) -> TokenSubject:
        try:
            return _subject(serializer.loads(token))
        except (BadSignature, TypeError, ValueError) as error:
            raise InvalidToken(f"this {what} link is not valid") from error


def _subject(payload) -> TokenSubject:
    subscription_id, email = payload
    if not isinstance(subscription_id, int) or not isinstance(email, str):
        raise ValueError("malformed token payload")
    return TokenSubject(subscription_id, email)

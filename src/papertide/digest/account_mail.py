"""The email a sign-up with an address sends, so that sign-up need not say who is registered.

Sign-up used to answer "an account with that email address exists", which told anyone which
addresses have accounts. Now every sign-up answers alike and leaves the new account without an
address; the difference goes by email to the address, where only its owner reads it: a link that
adds the address to the new account if no account has it, else a notice to the account that does.
Both count against the site's cap on confirmation emails, like the digest's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from papertide.community import ratelimit
from papertide.community.models import User
from papertide.config import Settings
from papertide.db import Database
from papertide.digest.compose import Composer
from papertide.digest.delivery import DeliveryError, SmtpMailer
from papertide.digest.tokens import CONFIRM_MAX_AGE, InvalidToken

logger = logging.getLogger(__name__)
_SALT = "papertide.account.email"


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SALT)


def confirm_url(settings: Settings, user_id: int, email: str) -> str:
    return f"{settings.base_url.rstrip('/')}/account/email?token={_serializer(settings).dumps([user_id, email])}"


def read_token(settings: Settings, token: str, max_age: int = CONFIRM_MAX_AGE) -> tuple[int, str]:
    """(user id, address) of a confirmation link; ``InvalidToken`` if forged, mangled or expired."""
    try:
        user_id, email = _serializer(settings).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidToken("this link has expired; add the address again from your account") from error
    except (BadSignature, TypeError, ValueError) as error:
        raise InvalidToken("this link is not valid") from error
    if not isinstance(user_id, int) or not isinstance(email, str):
        raise InvalidToken("this link is not valid")
    return user_id, email


def send_address_email(database: Database, settings: Settings, user_id: int, username: str, email: str, *,
                       now: datetime, mailer=None) -> bool:
    """After ``username`` signed up naming ``email``: the confirmation link, or the notice to the
    address's account. Returns whether it went out; failures are logged, never shown (the sign-up
    must answer the same whatever happens here)."""
    composer = Composer(settings)
    try:
        with database.session() as session:
            owner = session.scalar(select(User.username).where(User.email == email))
            ratelimit.hit(session, "confirmation_email", "site", now=now, scale=settings.rate_limit_scale)
        message = (composer.account_taken(email, owner, username) if owner is not None
                   else composer.account_confirmation(email, username, confirm_url(settings, user_id, email)))
        own_mailer = mailer is None
        mailer = mailer or SmtpMailer(settings)
        try:
            mailer.send(message, email)
        finally:
            if own_mailer:
                mailer.close()
    except (DeliveryError, ratelimit.RateLimited) as problem:
        logger.warning("sign-up email to %s not sent: %s", email, problem)
        return False
    return True

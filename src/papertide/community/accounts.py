"""Accounts: sign up, log in, change the password, end other sessions, look people up.

Passwords are hashed with argon2id (argon2-cffi's defaults, which follow RFC 9106) and re-hashed
on log-in when those parameters change. Log-in costs the same time whether or not the user
exists, so response times do not reveal which usernames are taken. Blocked users cannot log in,
and are told so (with the moderator's reason) only after giving the right password, so the
message reveals nothing to someone guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from papertide.community.errors import Blocked, CommunityError, Conflict, Forbidden
from papertide.community.models import User

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,39}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_EMAIL = 320
EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']+$")
RESERVED = frozenset({"admin", "administrator", "root", "system", "papertide", "api", "login", "logout", "signup"})

_hasher = PasswordHasher()
# Verified against when the username does not exist, so both paths cost one argon2 verification.
_DUMMY_HASH = _hasher.hash("papertide-dummy-password")


@dataclass(frozen=True)
class Account:
    """What the web layer needs to know about the person making a request."""

    id: int
    username: str
    is_admin: bool
    is_blocked: bool
    session_epoch: int = 0  # a session begun under an older epoch is over


def _account(user: User) -> Account:
    return Account(id=user.id, username=user.username, is_admin=user.is_admin, is_blocked=user.is_blocked,
                   session_epoch=user.session_epoch or 0)


def validate_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME.match(username):
        raise CommunityError(
            "a username is 3 to 40 characters: letters, digits, '-' and '_', starting with a letter or digit"
        )
    if username.lower() in RESERVED:
        raise CommunityError(f"the username {username!r} is reserved")
    return username


def validate_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise CommunityError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def validate_email(email: str | None) -> str | None:
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > MAX_EMAIL or not EMAIL.match(email):
        raise CommunityError("that does not look like an email address")
    return email.lower()


def sign_up(session: Session, username: str, password: str, email: str | None = None, *, is_admin: bool = False) -> Account:
    """Create an account; raises ``CommunityError`` for invalid input, ``Conflict`` if taken."""
    username = validate_username(username)
    validate_password(password)
    email = validate_email(email)
    taken = session.scalar(select(User.id).where(func.lower(User.username) == username.lower()))
    if taken is not None:
        raise Conflict(f"the username {username!r} is taken")
    if email and session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("an account with that email address exists")
    user = User(username=username, email=email, password_hash=_hasher.hash(password), is_admin=is_admin, is_blocked=False)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent sign-up took the name first; the caller rolls back
        raise Conflict(f"the username {username!r} is taken") from error
    return _account(user)


def authenticate(session: Session, username: str, password: str) -> Account | None:
    """The account if ``password`` is right, else None; ``Blocked`` if it is right but the
    account is blocked."""
    username = (username or "").strip()[:100]
    password = (password or "")[:MAX_PASSWORD]
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower())) if username else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if user.is_blocked:
        reason = f": {user.blocked_reason}" if user.blocked_reason else ""
        raise Blocked(f"this account is blocked by the moderators{reason}")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return _account(user)


def _confirmed(session: Session, user_id: int, current: str, what: str) -> User:
    """The user, if ``current`` is their password; ``Forbidden`` otherwise (or if blocked)."""
    user = session.get(User, user_id)
    if user is None or user.is_blocked:
        raise Forbidden(f"this account cannot change {what}")
    try:
        _hasher.verify(user.password_hash, (current or "")[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        raise Forbidden("the current password is wrong") from None
    return user


def change_password(session: Session, user_id: int, current: str, new: str) -> Account:
    """Set a new password after checking the current one; every other session ends.

    Raises ``Forbidden`` for a wrong current password (the caller counts it against the log-in
    rate limit, so this form cannot be used to guess) and ``CommunityError`` for a weak new one.
    """
    user = _confirmed(session, user_id, current, "its password")
    if new == current:
        raise CommunityError("the new password is the same as the current one")
    return set_password(user, new)


def set_password(user: User, new: str) -> Account:
    """Store a new password for ``user`` and end every session begun before (change, reset)."""
    validate_password(new)
    user.password_hash = _hasher.hash(new)
    user.session_epoch = (user.session_epoch or 0) + 1
    return _account(user)


def confirm_password(session: Session, user_id: int, current: str) -> None:
    """Check the account's password before an address is asked for (``Forbidden`` if wrong)."""
    _confirmed(session, user_id, current, "its email address")


def set_email(session: Session, user_id: int, current: str, email: str) -> str | None:
    """Set (or clear, with "") the account's address after checking its password: the address is
    where password resets go, so a borrowed session must not be able to redirect them.

    Raises ``Forbidden`` for a wrong password, ``Conflict`` when another account has the address.
    """
    user = _confirmed(session, user_id, current, "its email address")
    email = validate_email(email)
    if email and session.scalar(select(User.id).where(User.email == email, User.id != user_id)) is not None:
        raise Conflict("another account has that email address")
    user.email = email
    return email


def end_other_sessions(session: Session, user_id: int) -> Account:
    """Make every session of this user that began before now invalid ("sign out everywhere")."""
    user = session.get(User, user_id)
    if user is None:
        raise CommunityError("no such account")
    user.session_epoch = (user.session_epoch or 0) + 1
    return _account(user)


def get_user(session: Session, user_id: int) -> Account | None:
    user = session.get(User, user_id)
    return _account(user) if user else None


def email_of(session: Session, user_id: int) -> str | None:
    """The account's address (the session's ``Account`` carries none)."""
    return session.scalar(select(User.email).where(User.id == user_id))


def get_user_by_name(session: Session, username: str) -> Account | None:
    user = session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    return _account(user) if user else None


def set_admin(session: Session, username: str, is_admin: bool = True) -> Account:
    """Grant or revoke moderator rights (used by ``papertide users admin``)."""
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise CommunityError(f"no user {username!r}")
    user.is_admin = is_admin
    return _account(user)


def require_active(session: Session, user_id: int) -> Account:
    """The account, or ``Forbidden`` if it does not exist or is blocked (checked on every write)."""
    user = session.get(User, user_id)
    if user is None or user.is_blocked:
        raise Forbidden("this account cannot vote, comment or submit")
    return _account(user)


def add_confirmed_email(session: Session, user_id: int, email: str) -> Account:
    """Give ``user_id`` the address its owner just confirmed by a link sent to it; ``Conflict`` if
    another account has it by now."""
    email = validate_email(email)
    user = session.get(User, user_id)
    if user is None:
        raise CommunityError("this account no longer exists")
    holder = session.scalar(select(User.id).where(User.email == email))
    if holder is not None and holder != user_id:
        raise Conflict("this address belongs to another account now")
    user.email = email
    return _account(user)

"""Users, passwords and roles.

Passwords are hashed with bcrypt (cost 12). bcrypt reads at most 72 bytes, so longer
passwords are refused with a clear message instead of being silently truncated.
Roles map to permissions here, in one place; `has_permission` understands wildcards
such as `monitoring:*`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.storage.models import User

BCRYPT_ROUNDS = 12
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 64
USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
RESERVED_USERNAMES = frozenset({"cli", "bench", "admin", "administrator", "root", "system",
                                "concierge", "support"})
"""Names nobody can sign up or be added as: the app's own accounts, and names that would
pass for staff. Compared without case."""


@cache
def _dummy_hash() -> bytes:
    """A real hash of a random password: unknown usernames are checked against it, so they
    take as long as known ones and nothing about which usernames exist leaks by timing."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(BCRYPT_ROUNDS))


ROLES: dict[str, frozenset[str]] = {
    "customer": frozenset({"chat:use", "account:self"}),
    # A human support agent: works conversations in the inbox (and reads the traces of
    # the ones they hold), nothing else.
    "agent": frozenset({"inbox:work", "account:self"}),
    # inbox:* adds inbox:supervise: any conversation, another agent's included.
    "supervisor": frozenset({"chat:use", "account:self", "monitoring:*", "inbox:*"}),
    "admin": frozenset({"*"}),  # also users:manage and audit:read
}


class NotAllowed(PermissionError):
    """The caller may not do this."""


def require(user: Principal | None, permission: str) -> None:
    """Raise NotAllowed unless `user` holds `permission` (services call this first)."""
    if user is None or not user.can(permission):
        raise NotAllowed("You don't have permission to do that.")


class AuthError(ValueError):
    """A user-facing problem with credentials or a user record."""


@dataclass(frozen=True)
class Principal:
    """Who is acting: what services receive instead of a database row."""

    id: int
    username: str
    role: str

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)


def has_permission(role: str, permission: str) -> bool:
    granted = ROLES.get(role, frozenset())
    area = permission.split(":", 1)[0]
    return "*" in granted or permission in granted or f"{area}:*" in granted


def hash_password(password: str) -> str:
    raw = password.encode("utf-8")
    if len(raw) > 72:
        raise AuthError("Passwords can be at most 72 bytes long.")
    return bcrypt.hashpw(raw, bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


def check_password(password: str, password_hash: str) -> bool:
    raw = password.encode("utf-8")
    return len(raw) <= 72 and bcrypt.checkpw(raw, password_hash.encode())


def username_problem(username: str) -> str | None:
    if not USERNAME.match(username or ""):
        return "Usernames are 3-32 characters: letters, digits, dots, dashes and underscores."
    if username.lower() in RESERVED_USERNAMES:
        return f"The username {username!r} is reserved; choose another."
    return None


def password_problem(password: str, username: str = "", min_chars: int = MIN_PASSWORD_CHARS) -> str | None:
    """Why a new password is refused (NIST 800-63B style: length and guessability), or None."""
    if len(password) < min_chars:
        return f"Use at least {min_chars} characters."
    if len(password) > MAX_PASSWORD_CHARS or len(password.encode("utf-8")) > 72:
        return f"Use at most {MAX_PASSWORD_CHARS} characters (72 bytes)."
    if username and username.lower() in password.lower():
        return "The password must not contain your username."
    from zxcvbn import zxcvbn  # loads its word lists: only when a password is being set

    if zxcvbn(password, user_inputs=[username] if username else [])["score"] < 3:
        return "That password is too common or easy to guess; try a longer phrase of unrelated words."
    return None


@dataclass(frozen=True)
class LoginCandidate:
    """The account a login names, read in a short transaction; bcrypt runs on it after."""

    user: Principal | None
    password_hash: bytes
    is_active: bool = False
    system: bool = False
    """The app's own account (the terminal's): nobody logs in as it."""


def login_candidate(session: Session, username: str) -> LoginCandidate:
    """The account for `username` (or the dummy hash when there is none)."""
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        return LoginCandidate(None, _dummy_hash())
    return LoginCandidate(principal_of(user), user.password_hash.encode(), user.is_active,
                          system=user.system_account is not None)


def authenticate(candidate: LoginCandidate, password: str) -> Principal | None:
    """The user for these credentials, or None; the same work whether or not the user exists.

    Takes no database session: bcrypt (a quarter of a second) must not hold a connection.
    """
    raw = password.encode("utf-8")
    ok = bcrypt.checkpw(raw[:72], candidate.password_hash) and len(raw) <= 72
    if not ok or candidate.user is None or not candidate.is_active or candidate.system:
        return None
    return candidate.user


def sign_up(session: Session, username: str, password: str, confirm: str,
            min_chars: int = MIN_PASSWORD_CHARS) -> Principal:
    """A new customer account, or AuthError saying what to change."""
    username = username.strip()
    problem = username_problem(username)
    if not problem and password != confirm:
        problem = "The two passwords don't match."
    problem = problem or password_problem(password, username, min_chars)
    if problem:
        raise AuthError(problem)
    return principal_of(add_user(session, username, password, "customer"))


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def add_user(session: Session, username: str, password: str, role: str = "customer", *,
             system_account: str | None = None) -> User:
    """Create a user (the caller's transaction commits it)."""
    if role not in ROLES:
        raise AuthError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    password_hash = hash_password(password)  # before any query: no connection held meanwhile
    if session.scalar(select(User).where(User.username == username)):
        raise AuthError(f"The username {username!r} is taken.")
    user = User(username=username, password_hash=password_hash, role=role,
                system_account=system_account)
    session.add(user)
    session.flush()
    return user


def system_user(session: Session, account: str) -> User:
    """The app's own customer account `account` (`cli`: the terminal's), found by its flag.

    Created on first use with a random password (nobody logs in as it), named `account`,
    or `account@system` (a name no sign-up can take) when an ordinary user already holds
    that name: such a user, made before names were reserved, never receives its work.
    """
    user = session.scalar(select(User).where(User.system_account == account))
    if user is None:
        taken = session.scalar(select(User.id).where(User.username == account))
        user = add_user(session, f"{account}@system" if taken else account,
                        secrets.token_urlsafe(24), "customer", system_account=account)
    return user


def principal_of(user: User) -> Principal:
    return Principal(id=user.id, username=user.username, role=user.role)

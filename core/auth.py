"""Users, passwords and roles.

Passwords are hashed with bcrypt (cost 12). bcrypt reads at most 72 bytes, so longer
passwords are refused with a clear message instead of being silently truncated.
Roles map to permissions here, in one place; `has_permission` understands wildcards
such as `monitoring:*`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import User

BCRYPT_ROUNDS = 12
ROLES: dict[str, frozenset[str]] = {
    "customer": frozenset({"chat:use"}),
    "supervisor": frozenset({"chat:use", "monitoring:*"}),
    "admin": frozenset({"*"}),
}


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


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def add_user(session: Session, username: str, password: str, role: str = "customer") -> User:
    """Create a user (the caller's transaction commits it)."""
    if role not in ROLES:
        raise AuthError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if session.scalar(select(User).where(User.username == username)):
        raise AuthError(f"The username {username!r} is taken.")
    user = User(username=username, password_hash=hash_password(password), role=role)
    session.add(user)
    session.flush()
    return user


def principal_of(user: User) -> Principal:
    return Principal(id=user.id, username=user.username, role=user.role)

"""AccountService: logging in and signing up, for the login page and the CLI.

A failed login never says which half was wrong; unknown usernames cost the same bcrypt
check as known ones.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.auth import AuthError, Principal, authenticate, sign_up
from core.models import AuditEvent


class AccountService:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def log_in(self, username: str, password: str) -> Principal | None:
        """The user, or None; every attempt is recorded (failed-login alerts count them)."""
        with self.sessions.begin() as session:
            user = authenticate(session, username.strip(), password)
            session.add(AuditEvent(
                action="login", outcome="success" if user else "failure",
                actor_id=user.id if user else None, detail=f"username={username.strip()[:64]!r}",
            ))
            return user

    def sign_up(self, username: str, password: str, confirm: str) -> Principal:
        """A new customer; AuthError with a user-facing reason when refused."""
        with self.sessions.begin() as session:
            return sign_up(session, username, password, confirm)


__all__ = ["AccountService", "AuthError"]

"""AccountService: logging in and signing up, for the login page and the CLI.

A failed login never says which half was wrong; unknown usernames cost the same bcrypt
check as known ones.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.auth import AuthError, Principal, authenticate, sign_up


class AccountService:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def log_in(self, username: str, password: str) -> Principal | None:
        with self.sessions() as session:
            return authenticate(session, username.strip(), password)

    def sign_up(self, username: str, password: str, confirm: str) -> Principal:
        """A new customer; AuthError with a user-facing reason when refused."""
        with self.sessions.begin() as session:
            return sign_up(session, username, password, confirm)


__all__ = ["AccountService", "AuthError"]

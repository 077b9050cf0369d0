"""AccountService: logging in and out, signing up, changing one's password.

A failed login never says which half was wrong; unknown usernames cost the same bcrypt
check as known ones and are throttled the same way. Every attempt is audited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.security import audit
from core.security.auth import (
    AuthError,
    Principal,
    authenticate,
    check_password,
    hash_password,
    login_candidate,
    password_problem,
    require,
    sign_up,
)
from core.security.browser_sessions import SessionService
from core.security.rate_limits import LoginThrottle, RateLimited
from core.storage.models import User


class AccountService:
    def __init__(self, sessions: sessionmaker[Session], user_sessions: SessionService,
                 throttle: LoginThrottle | None = None, *, min_password_chars: int = 12):
        self.sessions = sessions
        self.user_sessions = user_sessions
        self.throttle = throttle
        self.min_password_chars = min_password_chars

    def log_in(self, username: str, password: str, client: str | None = None) -> Principal | None:
        """The user, or None; RateLimited after too many failures for the account or client."""
        username = username.strip()
        if self.throttle:
            try:
                self.throttle.check(username, client)
            except RateLimited:
                with self.sessions.begin() as session:
                    audit.record(session, "login", actor=username[:64], outcome="throttled",
                                 client=client)
                raise
        with self.sessions() as session:  # bcrypt runs after: no connection held meanwhile
            candidate = login_candidate(session, username)
        user = authenticate(candidate, password)
        with self.sessions.begin() as session:
            audit.record(session, "login", actor=user or username[:64],
                         outcome="success" if user else "failure", client=client)
        if self.throttle:
            if user is None:
                self.throttle.failed(username, client)
            else:
                self.throttle.succeeded(username)
        return user

    def start_session(self, user: Principal, client: str | None = None) -> str:
        """A browser session for a logged-in user; returns the token for its cookie."""
        return self.user_sessions.start(user, client)

    def log_out(self, user: Principal, token: str | None, client: str | None = None) -> None:
        if token:
            self.user_sessions.end(token, "logout")
        with self.sessions.begin() as session:
            audit.record(session, "logout", actor=user, client=client)

    def sign_up(self, username: str, password: str, confirm: str,
                client: str | None = None) -> Principal:
        """A new customer; AuthError with a user-facing reason when refused."""
        with self.sessions.begin() as session:
            user = sign_up(session, username, password, confirm, self.min_password_chars)
            audit.record(session, "sign_up", actor=user, client=client)
            return user

    def change_password(self, user: Principal, current: str, new: str, confirm: str, *,
                        keep_token: str | None = None, client: str | None = None) -> None:
        """Change one's own password; every other session of the user ends."""
        require(user, "account:self")
        with self.sessions() as session:  # bcrypt twice below: no connection held meanwhile
            row = session.get(User, user.id)
        if row is None or not check_password(current, row.password_hash):
            raise AuthError("Your current password is not right.")
        if new != confirm:
            raise AuthError("The two new passwords don't match.")
        problem = password_problem(new, user.username, self.min_password_chars)
        if problem:
            raise AuthError(problem)
        new_hash = hash_password(new)
        with self.sessions.begin() as session:
            row = session.get(User, user.id)
            if row is None:
                raise AuthError("Your current password is not right.")
            row.password_hash = new_hash
            self.user_sessions.end_all(session, user.id, "password_changed", keep_token=keep_token)
            audit.record(session, "password_change", actor=user, client=client)


__all__ = ["AccountService", "AuthError", "RateLimited"]

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
from core.security.browser_sessions import BrowserSessionService
from core.security.rate_limits import LoginThrottle, RateLimited, SignUpThrottle
from core.storage.models import User


class AccountService:
    def __init__(self, sessions: sessionmaker[Session], browser_sessions: BrowserSessionService,
                 throttle: LoginThrottle | None = None, *, sign_ups: SignUpThrottle | None = None,
                 min_password_chars: int = 12):
        self.sessions = sessions
        self.browser_sessions = browser_sessions
        self.throttle = throttle
        self.sign_ups = sign_ups
        self.min_password_chars = min_password_chars

    def authenticate(self, username: str, password: str, client: str | None = None) -> Principal | None:
        """The user, or None; RateLimited after too many attempts for the account or client.

        The attempt is counted before the password is checked, so parallel attempts cannot
        each get a guess in before the first failure is recorded.
        """
        username = username.strip()
        if self.throttle:
            try:
                self.throttle.attempt(username, client)
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
        if self.throttle and user is not None:
            self.throttle.succeeded(username)
        return user

    def start_session(self, user: Principal, client: str | None = None) -> str:
        """A browser session for a logged-in user; returns the token for its cookie."""
        return self.browser_sessions.start(user, client)

    def log_out(self, user: Principal, token: str | None, client: str | None = None) -> None:
        if token:
            self.browser_sessions.end(token, "logout")
        with self.sessions.begin() as session:
            audit.record(session, "logout", actor=user, client=client)

    def sign_up(self, username: str, password: str, confirm: str,
                client: str | None = None) -> Principal:
        """A new customer; AuthError with a user-facing reason when refused, RateLimited
        after too many sign-ups from the client (counted before the form is checked)."""
        if self.sign_ups:
            self.sign_ups.attempt(client)
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
            self.browser_sessions.end_all(session, user.id, "password_changed", keep_token=keep_token)
            audit.record(session, "password_change", actor=user, client=client)


__all__ = ["AccountService", "AuthError", "RateLimited"]

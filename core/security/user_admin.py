"""UserAdminService: admins add users, change roles, disable them and reset passwords.

Every call needs `users:manage` and is audited. Disabling a user or resetting their
password ends all their sessions at once. The command line acts as `CLI_ADMIN` (whoever
can run it on the server already holds the database and keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.security import audit
from core.security.auth import (
    ROLES,
    AuthError,
    Principal,
    add_user,
    generate_password,
    hash_password,
    password_problem,
    require,
    username_problem,
)
from core.security.browser_sessions import BrowserSessionService
from core.storage.models import User

CLI_ADMIN = Principal(id=0, username="cli", role="admin")


@dataclass(frozen=True)
class UserRow:
    username: str
    role: str
    active: bool
    created_at: datetime


class UserAdminService:
    def __init__(self, sessions: sessionmaker[Session], browser_sessions: BrowserSessionService, *,
                 min_password_chars: int = 12):
        self.sessions = sessions
        self.browser_sessions = browser_sessions
        self.min_password_chars = min_password_chars

    def users(self, actor: Principal) -> list[UserRow]:
        require(actor, "users:manage")
        with self.sessions() as session:
            return [UserRow(u.username, u.role, u.is_active, u.created_at)
                    for u in session.scalars(select(User).order_by(User.username))]

    def add(self, actor: Principal, username: str, role: str = "customer",
            password: str | None = None, client: str | None = None) -> str:
        """Create a user; returns the password (generated when none is given)."""
        require(actor, "users:manage")
        username = username.strip()
        problem = username_problem(username)
        if password is not None:
            problem = problem or password_problem(password, username, self.min_password_chars)
        if problem:
            raise AuthError(problem)
        password = password or generate_password()
        with self.sessions.begin() as session:
            add_user(session, username, password, role)
            audit.record(session, "user_add", actor=actor, client=client,
                         detail=f"{username} as {role}")
        return password

    def set_role(self, actor: Principal, username: str, role: str,
                 client: str | None = None) -> None:
        require(actor, "users:manage")
        if role not in ROLES:
            raise AuthError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
        with self.sessions.begin() as session:
            user = self._user(session, username)
            if user.id == actor.id and role != user.role:
                raise AuthError("You can't change your own role; ask another admin.")
            before, user.role = user.role, role
            audit.record(session, "role_change", actor=actor, client=client,
                         detail=f"{username}: {before} -> {role}")

    def set_active(self, actor: Principal, username: str, active: bool,
                   client: str | None = None) -> int:
        """Disable (ending every session; returns how many) or enable a user."""
        require(actor, "users:manage")
        with self.sessions.begin() as session:
            user = self._user(session, username)
            if user.id == actor.id and not active:
                raise AuthError("You can't disable your own account.")
            user.is_active = active
            ended = 0 if active else self.browser_sessions.end_all(session, user.id, "disabled")
            audit.record(session, "user_enable" if active else "user_disable", actor=actor,
                         client=client, detail=username)
            return ended

    def reset_password(self, actor: Principal, username: str, password: str | None = None,
                       client: str | None = None) -> str:
        """Set a new password (generated when none is given) and end the user's sessions."""
        require(actor, "users:manage")
        if password is not None:
            problem = password_problem(password, username, self.min_password_chars)
            if problem:
                raise AuthError(problem)
        password = password or generate_password()
        with self.sessions.begin() as session:
            user = self._user(session, username)
            user.password_hash = hash_password(password)
            self.browser_sessions.end_all(session, user.id, "password_changed")
            audit.record(session, "password_reset", actor=actor, client=client, detail=username)
        return password

    @staticmethod
    def _user(session: Session, username: str) -> User:
        user = session.scalar(select(User).where(User.username == username.strip()))
        if user is None:
            raise AuthError(f"There is no user called {username.strip()!r}.")
        return user

"""Demo users for a demo deployment: alice (customer), max (agent), sam (supervisor), ada
(admin).

They are for demos only: well-known names sharing one password. The password
(`CONCIERGE_DEMO_PASSWORD`, or a generated one) must pass the same strength rules as
any other, for each of the names.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.security.auth import (
    MIN_PASSWORD_CHARS,
    AuthError,
    add_user,
    generate_password,
    password_problem,
)
from core.storage.models import User

DEMO_USERS = {"alice": "customer", "max": "agent", "sam": "supervisor", "ada": "admin"}


def demo_password_problem(password: str, min_chars: int = MIN_PASSWORD_CHARS) -> str | None:
    """Why `password` cannot be the demo users' password, on one line, or None."""
    for username in DEMO_USERS:
        problem = password_problem(password, username, min_chars)
        if problem:
            return f"CONCIERGE_DEMO_PASSWORD is refused: {problem}"
    return None


def seed_demo_users(
    sessions: sessionmaker[Session], password: str | None, min_chars: int = MIN_PASSWORD_CHARS,
) -> tuple[list[str], str, bool]:
    """Create the demo users that are missing; returns (created, password, generated).

    AuthError (one line) when the given password is too weak; nothing is created then.
    """
    generated = not password
    password = password or generate_password()
    problem = None if generated else demo_password_problem(password, min_chars)
    if problem:
        raise AuthError(problem)
    created = []
    with sessions.begin() as session:
        for username, role in DEMO_USERS.items():
            if session.scalar(select(User).where(User.username == username)) is None:
                add_user(session, username, password, role)
                created.append(username)
    return created, password, generated

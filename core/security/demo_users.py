"""Demo users for a demo deployment: alice (customer), max (agent), sam (supervisor), ada
(admin)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.security.auth import add_user, generate_password
from core.storage.models import User

DEMO_USERS = {"alice": "customer", "max": "agent", "sam": "supervisor", "ada": "admin"}


def seed_demo_users(
    sessions: sessionmaker[Session], password: str | None
) -> tuple[list[str], str, bool]:
    """Create the demo users that are missing; returns (created, password, generated)."""
    generated = not password
    password = password or generate_password()
    created = []
    with sessions.begin() as session:
        for username, role in DEMO_USERS.items():
            if session.scalar(select(User).where(User.username == username)) is None:
                add_user(session, username, password, role)
                created.append(username)
    return created, password, generated

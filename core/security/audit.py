"""The audit log: who did what, when and from where. Admins read it (`audit:read`).

A name typed at a failed login is not stored as typed (people type passwords there): a
real account's name keeps its first letter, anything else is stored as `(not an
account)`. Successful logins and every other event name the account in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.security.auth import Principal, require
from core.storage.models import AuditEvent, User

NOT_AN_ACCOUNT = "(not an account)"

ACTIONS = ("login", "logout", "sign_up", "password_change", "password_reset", "user_add",
           "role_change", "user_disable", "user_enable", "alert_acknowledge", "alert_resolve",
           "threshold_change", "keys_rotate", "purge", "conversations_delete",
           "conversations_export", "label_add", "examples_import", "retrain",
           "conversation_take", "conversation_release",
           "conversation_transfer", "conversation_resolve", "conversation_hand_back")


def record(session: Session, action: str, *, actor: Principal | str | None,
           outcome: str = "success", client: str | None = None, detail: str | None = None) -> None:
    """Add an event to the caller's transaction.

    `actor` is a Principal, or the name someone typed who is not logged in (a login that
    failed or was throttled): that name is masked.
    """
    if isinstance(actor, Principal):
        name, actor_id = actor.username, actor.id if actor.id > 0 else None
    else:
        name, actor_id = _masked(session, actor)
    session.add(AuditEvent(action=action, outcome=outcome, actor_id=actor_id,
                           actor=(name or "")[:64] or None, client=(client or "")[:64] or None,
                           detail=detail))


def _masked(session: Session, typed: str | None) -> tuple[str | None, int | None]:
    """A typed name as stored: a real account's first letter (and its id), else a marker."""
    if not typed:
        return None, None
    account = session.scalar(select(User.id).where(User.username == typed))
    if account is None:
        return NOT_AN_ACCOUNT, None
    return typed[0] + "*" * (len(typed) - 1), account


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    outcome: str
    actor: str | None
    client: str | None
    detail: str | None


class AuditService:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def events(self, user: Principal, *, action: str | None = None,
               limit: int = 500) -> list[AuditEntry]:
        """The newest events first, optionally of one action."""
        require(user, "audit:read")
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 5000)))
        if action:
            query = query.where(AuditEvent.action == action)
        with self.sessions() as session:
            return [AuditEntry(e.created_at, e.action, e.outcome, e.actor, e.client, e.detail)
                    for e in session.scalars(query)]

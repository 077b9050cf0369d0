"""A customer's own data: download it, delete it; and retention (`concierge purge`).

Deleting a conversation removes its messages (agents' replies and private notes too),
turns, feedback, ratings, traces, spans and its LangGraph checkpoints. The download
leaves agents' private notes out. Customers act on their own conversations only (`account:self`);
purging by age needs `data:purge` (admins, and the command line).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.security import audit
from core.security.auth import Principal, require
from core.storage.models import (
    Conversation,
    Feedback,
    Message,
    Rating,
    Span,
    Turn,
    TurnTrace,
    utcnow,
)


class PrivacyService:
    def __init__(self, sessions: sessionmaker[Session], checkpointer: Any | None = None,
                 on_deleted: Callable[[list[int]], None] | None = None):
        self.sessions = sessions
        self.checkpointer = checkpointer
        self.on_deleted = on_deleted
        """Told the ids of deleted conversations (the chat service forgets what it cached)."""

    def export(self, user: Principal, client: str | None = None) -> dict:
        """Every conversation of the user, as JSON-ready data (what the download holds)."""
        require(user, "account:self")
        with self.sessions.begin() as session:
            conversations = session.scalars(
                select(Conversation).where(Conversation.user_id == user.id).order_by(Conversation.id)
            ).all()
            replies = {t.reply_id: t for t in session.scalars(
                select(Turn).join(Conversation).where(Conversation.user_id == user.id))}
            data = {"user": user.username, "exported_at": utcnow().isoformat() + "Z",
                    "conversations": [{
                        "id": c.id, "title": c.title, "started_at": c.created_at.isoformat() + "Z",
                        "messages": [{"role": m.role, "text": m.body,
                                      "at": m.created_at.isoformat() + "Z",
                                      **_reply_details(replies.get(m.id))}
                                     for m in c.messages if m.role != "note"],
                    } for c in conversations]}
            audit.record(session, "conversations_export", actor=user, client=client,
                         detail=f"{len(conversations)} conversations")
        return data

    def delete_mine(self, user: Principal, client: str | None = None) -> int:
        """Delete all of the user's conversations now; returns how many."""
        require(user, "account:self")
        with self.sessions.begin() as session:
            ids = list(session.scalars(select(Conversation.id).where(Conversation.user_id == user.id)))
            threads = _delete_conversations(session, ids)
            audit.record(session, "conversations_delete", actor=user, client=client,
                         detail=f"{len(ids)} conversations")
        self._forget(ids, threads)
        return len(ids)

    def purge(self, actor: Principal, older_than_days: int, client: str | None = None) -> int:
        """Delete conversations whose last message is older than the retention period."""
        require(actor, "data:purge")
        if isinstance(older_than_days, bool) or not isinstance(older_than_days, int) \
                or older_than_days < 1:
            raise ValueError("Retention is a whole number of days, at least 1.")
        cutoff = utcnow() - timedelta(days=older_than_days)
        last = (select(Message.conversation_id, func.max(Message.created_at).label("last"))
                .group_by(Message.conversation_id).subquery())
        with self.sessions.begin() as session:
            ids = list(session.scalars(
                select(Conversation.id).outerjoin(last, last.c.conversation_id == Conversation.id)
                .where(func.coalesce(last.c.last, Conversation.created_at) < cutoff)))
            threads = _delete_conversations(session, ids)
            audit.record(session, "purge", actor=actor, client=client,
                         detail=f"{len(ids)} conversations older than {older_than_days} days")
        self._forget(ids, threads)
        return len(ids)

    def _forget(self, ids: list[int], threads: list[str]) -> None:
        if self.on_deleted is not None:
            self.on_deleted(ids)
        if self.checkpointer is not None:
            for thread_id in threads:
                self.checkpointer.delete_thread(thread_id)


def _reply_details(turn: Turn | None) -> dict:
    if turn is None:
        return {}
    return {"sources": [source.get("title") for source in turn.sources or []]}


def _delete_conversations(session: Session, ids: list[int]) -> list[str]:
    """Delete the conversations and everything stored for them; returns their thread ids."""
    threads: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        turn_ids = select(Turn.id).where(Turn.conversation_id.in_(chunk))
        threads += session.scalars(select(Conversation.thread_id).where(Conversation.id.in_(chunk)))
        session.execute(delete(Span).where(Span.turn_id.in_(turn_ids)))
        session.execute(delete(TurnTrace).where(TurnTrace.turn_id.in_(turn_ids)))
        session.execute(delete(Feedback).where(Feedback.turn_id.in_(turn_ids)))
        session.execute(delete(Turn).where(Turn.conversation_id.in_(chunk)))
        session.execute(delete(Rating).where(Rating.conversation_id.in_(chunk)))
        session.execute(delete(Message).where(Message.conversation_id.in_(chunk)))
        session.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
    return threads

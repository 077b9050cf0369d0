"""A customer's own data: download it, delete it; and retention (`concierge purge`).

Deleting a conversation removes its messages (agents' replies and private notes too),
turns, feedback, ratings, traces, spans, the labels given to its messages (core.learning)
and its LangGraph checkpoints; a retention purge keeps those labels, as masked text with
no link to the customer. The download leaves agents' private notes out. Customers act on their own conversations only (`account:self`);
purging by age needs `data:purge` (admins, and the command line).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.security import audit
from core.security.auth import Principal, require
from core.storage.models import (
    Conversation,
    Feedback,
    LabelledExample,
    Message,
    Rating,
    Span,
    Turn,
    TurnTrace,
    utcnow,
)
from core.tracing.masking import mask_pii


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
                    } for c in conversations],
                    "labels": _labels_of(session, [c.id for c in conversations])}
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
            threads = _delete_conversations(session, ids, keep_labels_masked=True)
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


def _labels_of(session: Session, conversation_ids: list[int]) -> list[dict]:
    """The labels supervisors gave the customer's messages (part of their data)."""
    rows = session.execute(
        select(LabelledExample.text, LabelledExample.label, LabelledExample.created_at)
        .join(Message, Message.id == LabelledExample.message_id)
        .where(Message.conversation_id.in_(conversation_ids)).order_by(LabelledExample.id))
    return [{"text": text, "label": label, "at": at.isoformat() + "Z"} for text, label, at in rows]


def _delete_conversations(session: Session, ids: list[int], *,
                          keep_labels_masked: bool = False) -> list[str]:
    """Delete the conversations and everything stored for them; returns their thread ids.

    Their messages' labels go too, or with `keep_labels_masked` (retention) stay as masked
    text unlinked from the turn and message.
    """
    threads: list[str] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        turn_ids = select(Turn.id).where(Turn.conversation_id.in_(chunk))
        threads += session.scalars(select(Conversation.thread_id).where(Conversation.id.in_(chunk)))
        message_ids = select(Message.id).where(Message.conversation_id.in_(chunk))
        labelled = LabelledExample.message_id.in_(message_ids) | LabelledExample.turn_id.in_(turn_ids)
        if keep_labels_masked:
            for row in session.scalars(select(LabelledExample).where(labelled)):
                row.text, row.masked = mask_pii(row.text), True
            session.flush()
            session.execute(update(LabelledExample).where(labelled)
                            .values(message_id=None, turn_id=None)
                            .execution_options(synchronize_session=False))
        else:
            session.execute(delete(LabelledExample).where(labelled)
                            .execution_options(synchronize_session=False))
        session.execute(delete(Span).where(Span.turn_id.in_(turn_ids)))
        session.execute(delete(TurnTrace).where(TurnTrace.turn_id.in_(turn_ids)))
        session.execute(delete(Feedback).where(Feedback.turn_id.in_(turn_ids)))
        session.execute(delete(Turn).where(Turn.conversation_id.in_(chunk)))
        session.execute(delete(Rating).where(Rating.conversation_id.in_(chunk)))
        session.execute(delete(Message).where(Message.conversation_id.in_(chunk)))
        session.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
    return threads

"""Repository functions for a chat turn: plain SQL statements, no ORM unit of work.

A turn is on the hot path, so these use SQLAlchemy Core inserts and updates (a third of
the ORM's cost per turn). They take `session` and never commit: the service owns the
transaction.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.models import Conversation, Message, Turn, utcnow


def conversation_owner_and_thread(session: Session, conversation_id: int) -> tuple[int, str] | None:
    row = session.execute(
        select(Conversation.user_id, Conversation.thread_id).where(Conversation.id == conversation_id)
    ).first()
    return (row[0], row[1]) if row else None


def add_message(session: Session, *, conversation_id: int, role: str, body: str) -> int:
    return session.execute(
        insert(Message).values(conversation_id=conversation_id, role=role, body=body,
                               created_at=utcnow()).returning(Message.id)
    ).scalar_one()


def add_turn(session: Session, **values: object) -> int:
    return session.execute(
        insert(Turn).values(created_at=utcnow(), **values).returning(Turn.id)
    ).scalar_one()


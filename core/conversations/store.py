"""Repository functions for a chat turn: plain SQL statements, no ORM unit of work.

A turn is on the hot path, so these run SQLAlchemy Core statements built once, on the
tables, with plain parameter dicts: no ORM bulk-persistence layer and no per-call
`.values()` coercion (a third of that cost per insert). They take a `Connection` (the
chat service's, on the hot path) or a `Session`, and never commit: the caller owns the
transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.storage.models import Conversation, Message, Turn, utcnow

_MESSAGES = Message.__table__
_TURNS = Turn.__table__
_CONVERSATIONS = Conversation.__table__
_OWNER_AND_THREAD = select(_CONVERSATIONS.c.user_id, _CONVERSATIONS.c.thread_id).where(
    _CONVERSATIONS.c.id == bindparam("conversation_id"))
_STATUS = select(_CONVERSATIONS.c.status).where(
    _CONVERSATIONS.c.id == bindparam("conversation_id"))
_INSERT_MESSAGE = insert(_MESSAGES)
_INSERT_TURN = insert(_TURNS)


def conversation_owner_and_thread(db: Connection | Session,
                                  conversation_id: int) -> tuple[int, str] | None:
    row = db.execute(_OWNER_AND_THREAD, {"conversation_id": conversation_id}).first()
    return (row[0], row[1]) if row else None


def add_message(db: Connection | Session, *, conversation_id: int, role: str, body: str,
                sender_id: int | None = None, for_person: bool = False) -> int:
    return db.execute(_INSERT_MESSAGE, {
        "conversation_id": conversation_id, "role": role, "body": body, "created_at": utcnow(),
        "sender_id": sender_id, "for_person": for_person,
    }).inserted_primary_key[0]


def conversation_status(db: Connection | Session, conversation_id: int) -> str | None:
    return db.execute(_STATUS, {"conversation_id": conversation_id}).scalar()


def add_turn(db: Connection | Session, *, created_at: datetime, **values: object) -> int:
    """`values` are Turn columns; the ones left out take their defaults."""
    return db.execute(_INSERT_TURN, {"created_at": created_at, **values}).inserted_primary_key[0]


def queue_for_person(db: Connection | Session, conversation_id: int) -> bool:
    """Ask for a person: the conversation joins the queue unless it is there or held already
    (one guarded UPDATE); True when it joined."""
    result = db.execute(
        update(_CONVERSATIONS)
        .where(_CONVERSATIONS.c.id == conversation_id,
               _CONVERSATIONS.c.status.in_(("bot", "resolved")))
        .values(status="waiting", handoff_requested_at=utcnow(), assignee_id=None,
                assigned_at=None, first_human_reply_at=None, resolved_at=None))
    return result.rowcount == 1

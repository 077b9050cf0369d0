"""Repository functions for a chat turn: plain SQL statements, no ORM unit of work.

A turn is on the hot path, so these use SQLAlchemy Core inserts and updates (a third of
the ORM's cost per turn). They take `session` and never commit: the service owns the
transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.masking import mask_pii
from core.models import Conversation, Message, Span, Turn, TurnTrace, utcnow
from core.tracing import SpanRecord


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


def add_turn(session: Session, *, created_at: datetime, **values: object) -> int:
    return session.execute(
        insert(Turn).values(created_at=created_at, **values).returning(Turn.id)
    ).scalar_one()


def trace_rows(*, turn_id: int, created_at: datetime, state: dict, spans: list[SpanRecord],
               langsmith_run_id: str | None) -> tuple[dict, list[dict]]:
    """A turn's "why" (runners-up, passages) and span rows, masked where customer text."""
    trace = {
        "turn_id": turn_id, "query": mask_pii(state.get("query") or state.get("text") or "")[:500],
        "follow_up": bool(state.get("follow_up")), "best_guess": state.get("best_guess"),
        "alternatives": [list(a) for a in state.get("alternatives") or []],
        "passages": [_passage_summary(p) for p in state.get("passages") or []],
        "langsmith_run_id": langsmith_run_id,
    }
    return trace, [{"turn_id": turn_id, "created_at": created_at, **span.__dict__} for span in spans]


def add_traces(session: Session, traces: list[dict], spans: list[dict]) -> None:
    if traces:
        session.execute(insert(TurnTrace), traces)
    if spans:
        session.execute(insert(Span), spans)


def _passage_summary(passage: dict) -> dict:
    text = passage.get("text", "")
    return {
        "article_id": passage.get("article_id"), "title": passage.get("title"),
        "heading": passage.get("heading"), "score": passage.get("score"),
        "intent_match": passage.get("intent_match"),
        "text": text if len(text) <= 300 else text[:299] + "…",
    }


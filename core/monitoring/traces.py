"""Workflow traces: the filterable list of recent turns and one turn's full trace."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.storage.models import Conversation, Message, Span, Turn, TurnTrace, User
from core.tracing.masking import mask_pii


@dataclass(frozen=True)
class TurnFilter:
    """What the traces list is narrowed to; None means any."""

    since: datetime | None = None
    intent: str | None = None
    status: str | None = None
    conversation_id: int | None = None
    limit: int = 200


@dataclass(frozen=True)
class TurnRow:
    turn_id: int
    created_at: datetime
    customer: str
    conversation_id: int
    intent: str | None
    confidence: float | None
    route: str | None
    status: str
    latency_ms: float | None
    model_version: int | None = None
    """The intent model that answered (0 or None: the data pack alone)."""


@dataclass(frozen=True)
class SpanView:
    node: str
    parent: str | None
    start_ms: float
    duration_ms: float
    status: str
    error: str | None
    input_summary: str
    output_summary: str


@dataclass(frozen=True)
class TurnTraceView:
    """Everything the page needs to say why the bot answered as it did."""

    row: TurnRow
    question: str
    """The customer's message, masked."""
    answer: str
    error: str | None
    sources: list[dict]
    query: str | None = None
    follow_up: bool = False
    best_guess: str | None = None
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)
    spans: list[SpanView] = field(default_factory=list)
    langsmith_run_id: str | None = None
    evidence: list[tuple[str, str, float]] = field(default_factory=list)
    """The intent decision's nearest examples by meaning: (text, intent, similarity)."""

    @property
    def mended(self) -> str | None:
        """What was searched for when it is the message with its typos mended (not a
        follow-up joined to its topic), masked; None when the message was read as sent."""
        if self.follow_up or not self.query or self.query == self.question[:len(self.query)]:
            return None
        return self.query


def _row_query():
    return (
        select(Turn.id, Turn.created_at, User.username, Turn.conversation_id, Turn.intent,
               Turn.confidence, Turn.route, Turn.status, Turn.latency_ms, Turn.model_version)
        .join(Conversation, Conversation.id == Turn.conversation_id)
        .join(User, User.id == Conversation.user_id)
    )


def recent_turns(session: Session, filters: TurnFilter) -> list[TurnRow]:
    query = _row_query()
    if filters.since is not None:
        query = query.where(Turn.created_at >= filters.since)
    if filters.intent:
        query = query.where(Turn.intent == filters.intent)
    if filters.status:
        query = query.where(Turn.status == filters.status)
    if filters.conversation_id is not None:
        query = query.where(Turn.conversation_id == filters.conversation_id)
    rows = session.execute(query.order_by(Turn.id.desc()).limit(max(1, filters.limit))).all()
    return [TurnRow(*r) for r in rows]


def held_by(session: Session, turn_id: int, agent_id: int) -> bool:
    """Whether the turn's conversation is open and held by this agent."""
    return session.scalar(
        select(Conversation.id).join(Turn, Turn.conversation_id == Conversation.id)
        .where(Turn.id == turn_id, Conversation.status == "open",
               Conversation.assignee_id == agent_id)) is not None


def known_intents(session: Session) -> list[str]:
    return sorted(i for i in session.scalars(select(Turn.intent).distinct()) if i)


def turn_trace(session: Session, turn_id: int) -> TurnTraceView | None:
    row = session.execute(_row_query().where(Turn.id == turn_id)).first()
    if row is None:
        return None
    question, reply = aliased(Message), aliased(Message)
    turn, asked, answered = session.execute(
        select(Turn, question.body, reply.body)
        .join(question, question.id == Turn.question_id)
        .outerjoin(reply, reply.id == Turn.reply_id).where(Turn.id == turn_id)
    ).one()
    trace = session.get(TurnTrace, turn_id)
    spans = session.scalars(select(Span).where(Span.turn_id == turn_id).order_by(Span.start_ms))
    return TurnTraceView(
        row=TurnRow(*row), question=mask_pii(asked), answer=answered or "",
        error=mask_pii(turn.error) if turn.error else None, sources=turn.sources or [],
        query=trace.query if trace else None, follow_up=bool(trace and trace.follow_up),
        best_guess=trace.best_guess if trace else None,
        alternatives=[(a, float(p)) for a, p in (trace.alternatives if trace else [])],
        passages=trace.passages if trace else [],
        spans=[SpanView(s.node, s.parent, s.start_ms, s.duration_ms, s.status, s.error,
                        s.input_summary, s.output_summary) for s in spans],
        langsmith_run_id=trace.langsmith_run_id if trace else None,
        evidence=[(t, i, float(v)) for t, i, v in json.loads(trace.evidence)]
        if trace and trace.evidence else [],
    )

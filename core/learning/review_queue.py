"""The turns that need a look, newest first: what the Review page lists.

A turn needs a look when the bot asked a clarifying question, called the message out of
scope, answered with low confidence, got a thumbs down or handed the customer to a
person. The customer's message is masked as on the traces page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session, aliased

from agents.intent import OUT_OF_SCOPE
from core.storage.models import Feedback, LabelledExample, Message, Turn, TurnTrace
from core.tracing.masking import mask_pii

LOW_CONFIDENCE = 0.5
REASONS = {
    "clarify": "asked a clarifying question",
    "out_of_scope": "called it out of scope",
    "low_confidence": f"answered with confidence under {LOW_CONFIDENCE:.0%}",
    "thumbs_down": "got a thumbs down",
    "handoff": "handed over to a person",
}


@dataclass(frozen=True)
class ReviewFilter:
    reason: str | None = None
    """One of REASONS, or None for any of them."""
    since: datetime | None = None
    unlabelled_only: bool = True
    limit: int = 100


@dataclass(frozen=True)
class ReviewItem:
    turn_id: int
    created_at: datetime
    conversation_id: int
    customer: str
    """The customer's message, personal data masked."""
    reply: str
    intent: str | None
    confidence: float | None
    route: str | None
    best_guess: str | None
    alternatives: list[tuple[str, float]]
    reasons: list[str]
    model_version: int | None
    label: str | None = None
    label_status: str | None = None
    sources: list[dict] = field(default_factory=list)


def _conditions() -> dict[str, ColumnElement[bool]]:
    return {
        "clarify": Turn.route == "clarify",
        "out_of_scope": Turn.intent == OUT_OF_SCOPE,
        "low_confidence": and_(Turn.confidence.is_not(None), Turn.confidence < LOW_CONFIDENCE),
        "thumbs_down": Feedback.score == 0,
        "handoff": Turn.route == "handoff",
    }


def needs_review_condition() -> ColumnElement[bool]:
    """True for a turn that needs a look (the query must outer-join Feedback on the turn)."""
    return or_(*_conditions().values())


def _reasons(turn: Turn, score: int | None) -> list[str]:
    found = []
    if turn.route == "clarify":
        found.append("clarify")
    if turn.intent == OUT_OF_SCOPE:
        found.append("out_of_scope")
    if turn.confidence is not None and turn.confidence < LOW_CONFIDENCE:
        found.append("low_confidence")
    if score == 0:
        found.append("thumbs_down")
    if turn.route == "handoff":
        found.append("handoff")
    return found


def needs_review(session: Session, filters: ReviewFilter) -> list[ReviewItem]:
    conditions = _conditions()
    if filters.reason is not None and filters.reason not in conditions:
        raise ValueError(f"Unknown reason {filters.reason!r}; choose one of {', '.join(REASONS)}.")
    question, reply = aliased(Message), aliased(Message)
    query = (select(Turn, question.body, reply.body, Feedback.score, TurnTrace.best_guess,
                    TurnTrace.alternatives)
             .join(question, question.id == Turn.question_id)
             .outerjoin(reply, reply.id == Turn.reply_id)
             .outerjoin(Feedback, Feedback.turn_id == Turn.id)
             .outerjoin(TurnTrace, TurnTrace.turn_id == Turn.id)
             .where(conditions[filters.reason] if filters.reason else needs_review_condition()))
    if filters.since is not None:
        query = query.where(Turn.created_at >= filters.since)
    if filters.unlabelled_only:
        query = query.where(~select(LabelledExample.id).where(
            LabelledExample.turn_id == Turn.id, LabelledExample.status != "replaced").exists())
    rows = session.execute(query.order_by(Turn.id.desc()).limit(max(1, filters.limit))).all()
    labelled = _labels_of(session, [turn.id for turn, *_ in rows])  # a second, small query
    return [ReviewItem(
        turn_id=turn.id, created_at=turn.created_at, conversation_id=turn.conversation_id,
        customer=mask_pii(asked), reply=answered or "", intent=turn.intent,
        confidence=turn.confidence, route=turn.route, best_guess=best,
        alternatives=[(a, float(p)) for a, p in (alternatives or [])],
        reasons=_reasons(turn, score), model_version=turn.model_version,
        label=labelled.get(turn.id, (None, None))[0],
        label_status=labelled.get(turn.id, (None, None))[1], sources=turn.sources or [],
    ) for turn, asked, answered, score, best, alternatives in rows]


def _labels_of(session: Session, turn_ids: list[int]) -> dict[int, tuple[str, str]]:
    if not turn_ids:
        return {}
    rows = session.execute(
        select(LabelledExample.turn_id, LabelledExample.label, LabelledExample.status)
        .where(LabelledExample.turn_id.in_(turn_ids), LabelledExample.status != "replaced")
        .order_by(LabelledExample.id))
    return {turn_id: (label, status) for turn_id, label, status in rows}

"""The human side of support: who is waiting now, how fast people answer and resolve, and
how customers rate the help, per agent and over time (the Agent statistics page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.monitoring.windows import Window, percentiles
from core.storage.models import Conversation, Rating, User

SATISFIED_AT_LEAST = 4
"""CSAT counts ratings of 4 or 5 stars (of 5) as satisfied, the usual definition."""


@dataclass(frozen=True)
class AgentLoad:
    """One agent's work in the window: conversations taken, resolved, and their ratings."""

    agent: str
    conversations: int
    resolved: int
    ratings: int
    average_rating: float | None


@dataclass(frozen=True)
class CsatBucket:
    start: datetime
    ratings: int
    satisfied: int

    @property
    def csat(self) -> float | None:
        return self.satisfied / self.ratings if self.ratings else None


@dataclass(frozen=True)
class HumanStats:
    waiting_now: int
    longest_wait_s: float | None
    """How long the customer first in the queue has waited (None: nobody waits)."""
    held_now: int
    first_reply_p50_s: float | None
    first_reply_p95_s: float | None
    """From asking for a person to a person's first reply, for first replies in the window."""
    resolve_p50_s: float | None
    resolve_p95_s: float | None
    """From asking for a person to resolved, for resolutions in the window."""
    agents: list[AgentLoad]
    csat: list[CsatBucket]

    @property
    def ratings(self) -> int:
        return sum(b.ratings for b in self.csat)

    @property
    def overall_csat(self) -> float | None:
        satisfied = sum(b.satisfied for b in self.csat)
        return satisfied / self.ratings if self.ratings else None


def waiting_queue(session: Session) -> tuple[int, datetime | None]:
    """How many customers wait for a person now, and when the first of them asked."""
    count, oldest = session.execute(
        select(func.count(Conversation.id), func.min(Conversation.handoff_requested_at))
        .where(Conversation.status == "waiting")).one()
    return int(count or 0), oldest


def human_stats(session: Session, window: Window, step: timedelta, now: datetime) -> HumanStats:
    """`now` is naive UTC, like the stored times."""
    in_window = (window.start, window.end)
    waiting, oldest = waiting_queue(session)
    held = session.scalar(select(func.count(Conversation.id))
                          .where(Conversation.status == "open")) or 0
    first = _durations(session, Conversation.first_human_reply_at, in_window)
    resolved = _durations(session, Conversation.resolved_at, in_window)
    first_p50, first_p95 = percentiles(first, (50, 95))
    resolve_p50, resolve_p95 = percentiles(resolved, (50, 95))
    return HumanStats(
        waiting_now=waiting,
        longest_wait_s=max(0.0, (now - oldest).total_seconds()) if oldest else None,
        held_now=int(held), first_reply_p50_s=first_p50, first_reply_p95_s=first_p95,
        resolve_p50_s=resolve_p50, resolve_p95_s=resolve_p95,
        agents=_agent_loads(session, in_window), csat=_csat_series(session, window, step))


def _durations(session: Session, reached: object, in_window: tuple[datetime, datetime]
               ) -> list[float]:
    """Seconds from the hand-off request to `reached`, for those reached in the window."""
    rows = session.execute(
        select(Conversation.handoff_requested_at, reached)
        .where(reached >= in_window[0], reached < in_window[1],
               Conversation.handoff_requested_at.is_not(None))).all()
    return [max(0.0, (end - start).total_seconds()) for start, end in rows]


def _agent_loads(session: Session, in_window: tuple[datetime, datetime]) -> list[AgentLoad]:
    start, end = in_window
    taken = dict(session.execute(
        select(Conversation.assignee_id, func.count(Conversation.id))
        .where(Conversation.assigned_at >= start, Conversation.assigned_at < end,
               Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)).all())
    resolved = dict(session.execute(
        select(Conversation.assignee_id, func.count(Conversation.id))
        .where(Conversation.resolved_at >= start, Conversation.resolved_at < end,
               Conversation.assignee_id.is_not(None))
        .group_by(Conversation.assignee_id)).all())
    rated = {agent: (n, avg) for agent, n, avg in session.execute(
        select(Rating.agent_id, func.count(Rating.id), func.avg(Rating.score))
        .where(Rating.created_at >= start, Rating.created_at < end,
               Rating.agent_id.is_not(None))
        .group_by(Rating.agent_id)).all()}
    ids = set(taken) | set(resolved) | set(rated)
    if not ids:
        return []
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    loads = [AgentLoad(names.get(i, f"user {i}"), int(taken.get(i, 0)), int(resolved.get(i, 0)),
                       int(rated.get(i, (0, None))[0]),
                       round(float(rated[i][1]), 2) if i in rated else None) for i in ids]
    return sorted(loads, key=lambda a: (-a.conversations, -a.resolved, a.agent))


def _csat_series(session: Session, window: Window, step: timedelta) -> list[CsatBucket]:
    rows = session.execute(
        select(Rating.created_at, Rating.score)
        .where(Rating.created_at >= window.start, Rating.created_at < window.end)).all()
    total = int((window.end - window.start) / step) + 1
    counts = [[0, 0] for _ in range(total)]
    for at, score in rows:
        index = int((at - window.start) / step)
        counts[index][0] += 1
        counts[index][1] += score >= SATISFIED_AT_LEAST
    return [CsatBucket(window.start + i * step, n, good) for i, (n, good) in enumerate(counts)
            if window.start + i * step < window.end]

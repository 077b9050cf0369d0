"""Agent statistics over a time window: read straight from turns, spans and feedback.

Counts, rates and histograms are aggregated in SQL; latency percentiles read one
covering index per node (node, time, duration) and are computed with numpy. Every
function takes a `Session` and a `Window` and returns plain dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Integer, and_, case, cast, func, select
from sqlalchemy.orm import Session

from agents.intent import OUT_OF_SCOPE
from core.monitoring.sql import epoch_seconds
from core.monitoring.windows import Window, percentiles, share
from core.storage.models import Feedback, Span, Turn

SAMPLE_SIZE = 20_000
"""Values read per percentile computation, at most (about)."""


@dataclass(frozen=True)
class Overview:
    """Headline numbers of a window."""

    turns: int
    errors: int
    clarify: int
    out_of_scope: int
    handoff: int
    p95_latency_ms: float | None
    feedback: int
    thumbs_up: int

    @property
    def error_rate(self) -> float | None:
        return share(self.errors, self.turns)

    @property
    def clarify_rate(self) -> float | None:
        return share(self.clarify, self.turns)

    @property
    def out_of_scope_rate(self) -> float | None:
        return share(self.out_of_scope, self.turns)

    @property
    def handoff_rate(self) -> float | None:
        return share(self.handoff, self.turns)

    @property
    def thumbs_up_share(self) -> float | None:
        return share(self.thumbs_up, self.feedback)


@dataclass(frozen=True)
class NodeStats:
    """One agent (graph node) over a window."""

    node: str
    calls: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def error_rate(self) -> float | None:
        return share(self.errors, self.calls)


@dataclass(frozen=True)
class ModelStats:
    """The answer model over a window (all zero when no model is configured)."""

    calls: int
    """Turns that asked the model for their answer."""
    fallbacks: int
    """... of which got the offline answer instead (the model failed or was paused)."""
    p50_ms: float | None
    p95_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    last_error: str | None = None
    paused: bool = False
    """Whether the latest of them found the model paused (circuit breaker open)."""

    @property
    def fallback_rate(self) -> float | None:
        return share(self.fallbacks, self.calls)


@dataclass(frozen=True)
class Bucket:
    start: datetime
    turns: int
    errors: int


def _in(column, window: Window):
    return and_(column >= window.start, column < window.end)


def overview(session: Session, window: Window) -> Overview:
    row = session.execute(
        select(
            func.count(Turn.id),
            func.sum(case((Turn.status == "error", 1), else_=0)),
            func.sum(case((Turn.route == "clarify", 1), else_=0)),
            func.sum(case((Turn.intent == OUT_OF_SCOPE, 1), else_=0)),
            func.sum(case((Turn.route == "handoff", 1), else_=0)),
        ).where(_in(Turn.created_at, window))
    ).one()
    latencies = _sample(session, Turn.latency_ms, Turn.id, row[0],
                        _in(Turn.created_at, window), Turn.latency_ms.is_not(None))
    feedback, thumbs_up = session.execute(
        select(func.count(Feedback.id), func.sum(Feedback.score))
        .join(Turn, Turn.id == Feedback.turn_id).where(_in(Turn.created_at, window))
    ).one()
    return Overview(
        turns=row[0], errors=row[1] or 0, clarify=row[2] or 0, out_of_scope=row[3] or 0,
        handoff=row[4] or 0, p95_latency_ms=percentiles(latencies, (95,))[0],
        feedback=feedback, thumbs_up=thumbs_up or 0,
    )


def node_stats(session: Session, window: Window) -> list[NodeStats]:
    """Calls, errors and latency percentiles of every node that ran in the window."""
    counts = session.execute(
        select(Span.node, func.count(), func.sum(case((Span.status == "error", 1), else_=0)))
        .where(_in(Span.created_at, window)).group_by(Span.node)
    ).all()
    errors_by_node = last_errors(session, window)
    found = []
    for node, calls, errors in counts:
        durations = _sample(session, Span.duration_ms, Span.id, calls,
                            Span.node == node, _in(Span.created_at, window))
        p50, p95, p99 = percentiles(durations)
        error, at = errors_by_node.get(node, (None, None))
        found.append(NodeStats(node, calls, errors or 0, p50, p95, p99, error, at))
    return sorted(found, key=lambda n: -n.calls)


def model_stats(session: Session, window: Window) -> ModelStats:
    """Answer-model calls, fallbacks, latency and tokens of the turns in the window."""
    asked = (_in(Turn.created_at, window), Turn.answer_mode.is_not(None))
    calls, fallbacks, prompt, completion = session.execute(
        select(func.count(Turn.id), func.sum(case((Turn.answer_mode != "model", 1), else_=0)),
               func.sum(Turn.prompt_tokens), func.sum(Turn.completion_tokens)).where(*asked)
    ).one()
    latencies = _sample(session, Turn.model_ms, Turn.id, calls, *asked,
                        Turn.answer_mode == "model")
    p50, p95 = percentiles(latencies, (50, 95))
    last_error = session.scalar(
        select(Turn.model_error).where(*asked, Turn.model_error.is_not(None))
        .order_by(Turn.id.desc()).limit(1))
    latest_mode = session.scalar(select(Turn.answer_mode).where(*asked)
                                 .order_by(Turn.id.desc()).limit(1))
    return ModelStats(calls, fallbacks or 0, p50, p95, prompt or 0, completion or 0, last_error,
                      latest_mode == "paused")


def _sample(session: Session, value, row_id, total: int, *where) -> list[float]:
    """Up to about SAMPLE_SIZE values for percentiles: every k-th row of a big window.

    Rows are evenly spread over time, so the percentiles of a systematic sample are
    within a fraction of a percent of the exact ones, at a fraction of the cost.
    """
    query = select(value).where(*where)
    if total > SAMPLE_SIZE:
        query = query.where(row_id % (total // SAMPLE_SIZE + 1) == 0)
    return [v for (v,) in session.execute(query)]


def last_errors(session: Session, window: Window) -> dict[str, tuple[str | None, datetime]]:
    latest = (
        select(Span.node, func.max(Span.id).label("id"))
        .where(Span.status == "error", _in(Span.created_at, window)).group_by(Span.node)
        .subquery()
    )
    rows = session.execute(
        select(Span.node, Span.error, Span.created_at).join(latest, Span.id == latest.c.id)
    ).all()
    return {node: (error, at) for node, error, at in rows}


def turns_over_time(session: Session, window: Window, step: timedelta) -> list[Bucket]:
    """Turns and errors per `step`, oldest first, empty buckets included."""
    seconds = step.total_seconds()
    origin = window.start.replace(tzinfo=UTC).timestamp()  # stored times are naive UTC
    bucket = cast(func.floor((epoch_seconds(Turn.created_at) - origin) / seconds), Integer)
    rows = session.execute(
        select(bucket, func.count(), func.sum(case((Turn.status == "error", 1), else_=0)))
        .where(_in(Turn.created_at, window)).group_by(bucket)
    ).all()
    by_bucket = {int(b): (n, e or 0) for b, n, e in rows if b is not None}
    total = int((window.end - window.start) / step) + 1
    return [
        Bucket(window.start + i * step, *by_bucket.get(i, (0, 0)))
        for i in range(total) if window.start + i * step < window.end
    ]


def intent_distribution(session: Session, window: Window, top: int = 15) -> list[tuple[str, int]]:
    count = func.count().label("n")
    rows = session.execute(
        select(Turn.intent, count).where(_in(Turn.created_at, window), Turn.intent.is_not(None))
        .group_by(Turn.intent).order_by(count.desc()).limit(top)
    ).all()
    return [(intent, n) for intent, n in rows]


def confidence_histogram(session: Session, window: Window, bins: int = 10) -> list[tuple[float, int]]:
    """(bin start, turns) for confidence in [0, 1], `bins` equal bins."""
    index = cast(Turn.confidence * bins, Integer)
    rows = session.execute(
        select(index, func.count()).where(_in(Turn.created_at, window),
                                          Turn.confidence.is_not(None)).group_by(index)
    ).all()
    counts = [0] * bins
    for i, n in rows:
        counts[min(max(int(i), 0), bins - 1)] += n
    return [(i / bins, n) for i, n in enumerate(counts)]


"""MonitoringService: everything the supervisor pages read or change, permission-checked.

Pages never open a session themselves; each call here checks the caller may read
(`monitoring:read`) or change (`monitoring:write`) monitoring data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.engine.engine import Engine
from core.events import Event, EventBus
from core.monitoring import alert_book, stats, traces
from core.monitoring.human_stats import HumanStats, human_stats
from core.monitoring.learning_stats import LearningStats, learning_stats
from core.monitoring.rules import RULES_BY_NAME, AlertRule
from core.monitoring.windows import BUCKETS, WINDOWS, Window, window_ending
from core.security import audit
from core.security.auth import NotAllowed, Principal, require
from core.storage.models import Alert, Conversation, MetricSample, User, utcnow
from core.tracing.langsmith_export import langsmith_run_url

# NotAllowed is re-exported: callers catch it from here.
__all__ = ["AgentHealth", "MonitoringService", "NotAllowed", "StatisticsReport"]


@dataclass(frozen=True)
class StatisticsReport:
    window: str
    current: stats.Overview
    previous: stats.Overview
    nodes: list[stats.NodeStats]
    series: list[stats.Bucket]
    intents: list[tuple[str, int]]
    confidence: list[tuple[float, int]]
    model: stats.ModelStats
    learning: LearningStats | None = None
    human: HumanStats | None = None


@dataclass(frozen=True)
class AgentHealth:
    agent: str
    ready: bool
    detail: str
    last_error: str | None = None
    last_error_at: datetime | None = None


AGENT_NODES = {"intent": "classify_intent", "retrieval": "retrieve_passages",
               "answer": "write_answer"}


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: int
    customer: str
    requested_at: datetime


class MonitoringService:
    def __init__(self, sessions: sessionmaker[Session], engine: Engine | None = None,
                 events: EventBus | None = None):
        self.sessions = sessions
        self.engine = engine
        self.events = events

    def live_events(self, user: Principal, since: float) -> list[Event]:
        """Alerts and hand-off requests announced after `since` (time.time()), on any replica."""
        require(user, "monitoring:read")
        return self.events.since(since) if self.events is not None else []

    def handoff_requests(self, user: Principal, limit: int = 50) -> list[HandoffRequest]:
        """Conversations whose customer asked for a person, newest first."""
        require(user, "monitoring:read")
        with self.sessions() as session:
            rows = session.execute(
                select(Conversation.id, User.username, Conversation.handoff_requested_at)
                .join(User, User.id == Conversation.user_id)
                .where(Conversation.handoff_requested_at.is_not(None))
                .order_by(Conversation.handoff_requested_at.desc()).limit(limit)).all()
        return [HandoffRequest(*row) for row in rows]

    def statistics(self, user: Principal, window: str, now: datetime | None = None
                   ) -> StatisticsReport:
        require(user, "monitoring:read")
        if window not in WINDOWS:
            raise ValueError(f"Unknown window {window!r}; choose one of {', '.join(WINDOWS)}.")
        now = now or utcnow()
        span = window_ending(now, WINDOWS[window])
        with self.sessions() as session:
            return StatisticsReport(
                window=window,
                current=stats.overview(session, span),
                previous=stats.overview(session, span.previous),
                nodes=stats.node_stats(session, span),
                series=stats.turns_over_time(session, span, BUCKETS[window]),
                intents=stats.intent_distribution(session, span),
                confidence=stats.confidence_histogram(session, span),
                model=stats.model_stats(session, span),
                learning=learning_stats(session, span, BUCKETS[window]),
                human=human_stats(session, span, BUCKETS[window], now),
            )

    def agent_health(self, user: Principal) -> list[AgentHealth]:
        """Whether each agent is ready to serve, from the loaded engine."""
        require(user, "monitoring:read")
        if self.engine is None:
            return [AgentHealth(a, False, "engine not loaded") for a in ("intent", "retrieval", "answer")]
        agents = self.engine.agents
        classifier, retriever = agents.classifier, agents.retriever
        labels = len(classifier.labels)
        with self.sessions() as session:
            errors = stats.last_errors(session, Window(datetime(1970, 1, 1), utcnow()))
        found = [
            AgentHealth("intent", labels > 0,
                        f"model trained and loaded: {labels} intents, "
                        f"out-of-scope below {classifier.threshold:.2f} confidence"
                        + (f" or under {floor:.2f} similarity to the best intent's examples"
                           if (floor := classifier.similarity_floor) else "")),
            AgentHealth("retrieval", retriever.size > 0,
                        f"index of {retriever.size:,} sections from "
                        f"{len(self.engine.pack.articles)} articles"),
            AgentHealth("answer", True, _writer_detail(agents.writer)),
        ]
        return [replace(h, last_error=errors.get(AGENT_NODES[h.agent], (None, None))[0],
                        last_error_at=errors.get(AGENT_NODES[h.agent], (None, None))[1])
                for h in found]

    def recent_turns(self, user: Principal, filters: traces.TurnFilter) -> list[traces.TurnRow]:
        require(user, "monitoring:read")
        with self.sessions() as session:
            return traces.recent_turns(session, filters)

    def known_intents(self, user: Principal) -> list[str]:
        require(user, "monitoring:read")
        with self.sessions() as session:
            return traces.known_intents(session)

    def trace(self, user: Principal, turn_id: int) -> traces.TurnTraceView | None:
        """One turn's trace: supervisors any; an agent only in a conversation they hold."""
        supervisor = user is not None and user.can("monitoring:read")
        if not supervisor:
            require(user, "inbox:work")
        with self.sessions() as session:
            if not supervisor and not traces.held_by(session, turn_id, user.id):
                raise NotAllowed("You can read the traces of conversations you hold.")
            return traces.turn_trace(session, turn_id)

    def langsmith_url(self, user: Principal, run_id: str) -> str | None:
        """A link to the turn's run in LangSmith, or None when it cannot be had."""
        require(user, "monitoring:read")
        return langsmith_run_url(run_id)

    def latest_sample(self, user: Principal) -> MetricSample | None:
        require(user, "monitoring:read")
        with self.sessions() as session:
            return session.scalar(select(MetricSample).order_by(MetricSample.id.desc()).limit(1))

    def open_alerts(self, user: Principal) -> list[Alert]:
        require(user, "monitoring:read")
        order = {"critical": 0, "warning": 1, "info": 2}
        with self.sessions() as session:
            found = session.scalars(select(Alert).where(Alert.status.in_(alert_book.OPEN)))
            return sorted(found, key=lambda a: (order.get(a.severity, 3), -a.id))

    def alert_history(self, user: Principal, limit: int = 100) -> list[Alert]:
        require(user, "monitoring:read")
        with self.sessions() as session:
            return list(session.scalars(select(Alert).order_by(Alert.id.desc()).limit(limit)))

    def acknowledge(self, user: Principal, alert_id: int) -> None:
        require(user, "monitoring:write")
        with self.sessions.begin() as session:
            alert = alert_book.acknowledge(session, alert_id, user.username)
            audit.record(session, "alert_acknowledge", actor=user, detail=f"#{alert.id} {alert.rule}")

    def resolve(self, user: Principal, alert_id: int) -> None:
        require(user, "monitoring:write")
        with self.sessions.begin() as session:
            alert = alert_book.resolve(session, alert_id, user.username)
            audit.record(session, "alert_resolve", actor=user, detail=f"#{alert.id} {alert.rule}")

    def rules(self, user: Principal) -> list[tuple[AlertRule, float]]:
        """Each rule in force with its default threshold."""
        require(user, "monitoring:read")
        with self.sessions() as session:
            return [(r, RULES_BY_NAME[r.name].threshold) for r in alert_book.rules_in_force(session)]

    def set_threshold(self, user: Principal, rule: str, threshold: object) -> None:
        require(user, "monitoring:write")
        if rule not in RULES_BY_NAME:
            raise ValueError(f"There is no alert rule called {rule!r}.")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not 0 <= threshold <= 1e9:
            raise ValueError("A threshold is a number from 0 up.")
        with self.sessions.begin() as session:
            alert_book.set_threshold(session, rule, float(threshold), user.username)
            audit.record(session, "threshold_change", actor=user, detail=f"{rule} = {threshold:g}")


def _writer_detail(writer: object) -> str:
    describe = getattr(writer, "describe", None)
    return describe() if callable(describe) else "offline composer from the knowledge base (no model needed)"

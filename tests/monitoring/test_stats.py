"""Statistics: percentiles, windows and the aggregates the statistics page shows."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from core.monitoring import stats
from core.monitoring.service import MonitoringService, NotAllowed
from core.monitoring.traces import TurnFilter
from core.monitoring.windows import Window, percentiles, share, window_ending
from core.runtime import open_database
from core.security.auth import Principal
from core.storage.database import make_sessions
from core.storage.models import Conversation, Feedback, Message, Span, Turn, User, utcnow

NOW = datetime(2026, 11, 24, 12, 0, 0)


def test_percentiles_match_numpy_and_handle_empty() -> None:
    values = list(range(1, 101))
    assert percentiles(values) == [50.5, 95.05, 99.01]
    assert percentiles([]) == [None, None, None]
    assert percentiles([7.0], (50, 99)) == [7.0, 7.0]


def test_windows_and_previous_windows() -> None:
    window = window_ending(NOW, timedelta(hours=1))
    assert (window.start, window.end) == (NOW - timedelta(hours=1), NOW)
    assert window.previous == Window(NOW - timedelta(hours=2), NOW - timedelta(hours=1))
    with pytest.raises(ValueError):
        window_ending(NOW, timedelta(0))


def test_share_is_none_without_data() -> None:
    assert share(1, 4) == 0.25 and share(0, 0) is None


@pytest.fixture
def sessions(settings):
    db = open_database(settings)
    return make_sessions(db)


def _store(sessions, turns: list[dict]) -> None:
    with sessions.begin() as session:
        user = User(username="carol", password_hash="x", role="customer")
        session.add(user)
        session.flush()
        conversation = Conversation(user_id=user.id, thread_id="t1")
        session.add(conversation)
        session.flush()
        for n, values in enumerate(turns):
            at = values.pop("at")
            question = Message(conversation_id=conversation.id, role="customer", body=f"q{n}")
            session.add(question)
            session.flush()
            turn = Turn(conversation_id=conversation.id, question_id=question.id, created_at=at,
                        **{"route": "answer", "intent": "card_arrival", "confidence": 0.9,
                           "latency_ms": 10.0, **values})
            session.add(turn)
            session.flush()
            session.add(Span(turn_id=turn.id, created_at=at, node="classify_intent",
                             duration_ms=float(n + 1), status="error" if turn.status == "error" else "ok",
                             error="boom" if turn.status == "error" else None))
            if n % 2 == 0:
                session.add(Feedback(turn_id=turn.id, user_id=user.id, score=int(n % 4 == 0)))


def test_overview_rates_and_window_edges(sessions) -> None:
    minute = timedelta(minutes=1)
    _store(sessions, [
        {"at": NOW - 5 * minute, "latency_ms": 100.0},
        {"at": NOW - 4 * minute, "route": "clarify", "intent": "out_of_scope"},
        {"at": NOW - 3 * minute, "route": "handoff", "intent": "human_agent"},
        {"at": NOW - 2 * minute, "route": "error", "status": "error"},
        {"at": NOW - 90 * minute},  # previous window
        {"at": NOW},  # the end is not in the window
    ])
    window = window_ending(NOW, timedelta(hours=1))
    with sessions() as session:
        now = stats.overview(session, window)
        before = stats.overview(session, window.previous)
        nodes = stats.node_stats(session, window)
        series = stats.turns_over_time(session, window, timedelta(minutes=10))
        histogram = stats.confidence_histogram(session, window)
    assert (now.turns, now.errors, now.clarify, now.out_of_scope, now.handoff) == (4, 1, 1, 1, 1)
    assert now.error_rate == 0.25 and before.turns == 1
    assert now.p95_latency_ms == pytest.approx(np.percentile([100, 10, 10, 10], 95))
    assert (now.feedback, now.thumbs_up) == (2, 1) and now.thumbs_up_share == 0.5
    [intent] = nodes
    assert (intent.node, intent.calls, intent.errors) == ("classify_intent", 4, 1)
    assert intent.last_error == "boom" and intent.p50_ms == 2.5
    assert len(series) == 6 and sum(b.turns for b in series) == 4
    assert series[-1].turns == 4 and series[-1].errors == 1
    assert sum(n for _, n in histogram) == 4 and histogram[9] == (0.9, 4)


def test_monitoring_service_refuses_customers_and_reads_for_supervisors(sessions) -> None:
    _store(sessions, [{"at": utcnow()}])
    service = MonitoringService(sessions)
    customer, supervisor = Principal(1, "carol", "customer"), Principal(2, "sam", "supervisor")
    for call in (lambda u: service.statistics(u, "Last day"), lambda u: service.open_alerts(u),
                 lambda u: service.recent_turns(u, TurnFilter()), lambda u: service.trace(u, 1),
                 lambda u: service.set_threshold(u, "cpu_high", 50)):
        with pytest.raises(NotAllowed):
            call(customer)
    assert service.statistics(supervisor, "Last day").current.turns == 1
    assert [r.customer for r in service.recent_turns(supervisor, TurnFilter())] == ["carol"]
    assert service.recent_turns(supervisor, TurnFilter(status="error")) == []
    with pytest.raises(ValueError):
        service.statistics(supervisor, "Last century")
    with pytest.raises(ValueError):
        service.set_threshold(supervisor, "cpu_high", "lots")

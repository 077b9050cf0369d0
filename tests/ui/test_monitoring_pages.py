"""AppTest of the three supervisor pages against a runtime with real turns in it."""

from __future__ import annotations

from sqlalchemy import select

from core.monitoring.monitor import Monitor
from core.storage.models import Alert, AlertThreshold
from tests.ui.test_app import app, log_in


def _turns(runtime) -> list:
    alice = runtime.accounts.authenticate("alice", "harbour-lantern-quietly-7")
    first = runtime.chat.send(alice, None, "my card hasn't arrived, mail me at jo@example.com")
    runtime.chat.send(alice, first.conversation_id, "hello")
    runtime.chat.trace_writer.flush()
    return [first]


def test_statistics_page_shows_headlines_agents_and_health(runtime) -> None:
    _turns(runtime)
    at = log_in(app(), "sam").switch_page("pages/agent_statistics.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Turns"] == "2"
    assert metrics["Error rate"] == "0.0%"
    agents = at.dataframe[0].value
    assert set(agents["agent"]) >= {"classify_intent", "route_turn", "retrieve_passages", "write_answer"}
    assert agents.set_index("agent").loc["classify_intent", "calls"] == 2
    health = " ".join(m.value for m in at.markdown)
    assert "**intent**: ready" in health and "**retrieval**: ready" in health


def test_statistics_page_shows_the_human_side(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", "harbour-lantern-quietly-7")
    agent = runtime.accounts.authenticate("max", "harbour-lantern-quietly-7")
    rated = runtime.chat.send(alice, None, "can I speak with a real person").conversation_id
    runtime.handoff.take(agent, rated)
    runtime.handoff.reply(agent, rated, "Hi, I'm Max.")
    runtime.handoff.resolve(agent, rated)
    runtime.waiting.rate(alice, rated, 5)
    runtime.chat.send(alice, None, "I want to talk to a human")  # waits
    at = log_in(app(), "sam").switch_page("pages/agent_statistics.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Waiting now"] == "1"
    assert metrics["First human reply p50 / p95"] != "– / –"
    people = next(d.value for d in at.dataframe if "conversations taken" in d.value.columns)
    assert people.set_index("agent").loc["max", "average rating"] == 5
    assert any("CSAT 100.0% of 1 rating(s)" in c.value for c in at.caption)


def test_traces_page_explains_the_latest_turn(runtime) -> None:
    _turns(runtime)
    at = log_in(app(), "sam").switch_page("pages/workflow_traces.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="trace_turn").select(at.selectbox(key="trace_turn").options[1]).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("[email]" in t and "jo@example.com" not in t for t in texts)
    spans = at.table[0].value
    assert list(spans.index)[:2] == ["classify_intent", "route_turn"]
    assert "retrieve_passages" in set(spans.index)
    why = " ".join(m.value for m in at.markdown)
    assert "card_arrival" in why and "Route taken" in why


def test_failed_turn_is_highlighted(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", "harbour-lantern-quietly-7")

    def broken(*_args, **_kwargs):
        raise ValueError("index is corrupt")

    runtime.engine.agents.retriever.search, original = broken, runtime.engine.agents.retriever.search
    try:
        runtime.chat.send(alice, None, "how do I activate my card")
    finally:
        runtime.engine.agents.retriever.search = original
    runtime.chat.trace_writer.flush()
    at = log_in(app(), "sam").switch_page("pages/workflow_traces.py").run()
    at.selectbox(key="trace_status").select("error").run()
    assert not at.exception
    assert any("index is corrupt" in e.value for e in at.error)
    spans = at.table[0].value
    assert spans.loc["retrieve_passages", "status"] == "error"


def test_alerts_page_acknowledge_resolve_and_thresholds(runtime) -> None:
    with runtime.sessions.begin() as session:
        session.add(AlertThreshold(rule="disk_high", threshold=0.0, updated_by="test"))
        for quiet in ("cpu_high", "memory_high"):  # a busy test machine must not interfere
            session.add(AlertThreshold(rule=quiet, threshold=100.0, updated_by="test"))
    monitor = Monitor(runtime.sessions, disk_path=runtime.settings.state_dir, consecutive=2)
    assert monitor.tick() == []
    assert [(e, a.rule) for e, a in monitor.tick() if a.rule == "disk_high"] == [("firing", "disk_high")]
    at = log_in(app(), "sam").switch_page("pages/system_alerts.py").run()
    assert not at.exception
    assert {m.label for m in at.metric} >= {"CPU", "Memory", "Disk", "App memory"}
    assert any("Disk usage" in m.value and "CRITICAL" in m.value for m in at.markdown)
    ack = next(b for b in at.button if b.label == "Acknowledge")
    ack.click().run()
    assert not at.exception
    with runtime.sessions() as session:
        alert = session.scalar(select(Alert).where(Alert.rule == "disk_high"))
        assert (alert.status, alert.acknowledged_by) == ("acknowledged", "sam")
    next(b for b in at.button if b.label == "Resolve").click().run()
    with runtime.sessions() as session:
        alert = session.scalar(select(Alert).where(Alert.rule == "disk_high"))
        assert (alert.status, alert.resolved_by) == ("resolved", "sam")
    at.number_input(key="threshold-cpu_high").set_value(55.0)
    next(b for b in at.button if b.label == "Save thresholds").click().run()
    assert not at.exception
    with runtime.sessions() as session:
        assert session.get(AlertThreshold, "cpu_high").threshold == 55.0

"""LangSmith export against a loopback capture server: runs and metadata arrive when
tracing is on, and not one request is made when it is off."""

from __future__ import annotations

import pytest
from langsmith.utils import get_env_var

from core.runtime import Runtime
from core.storage.models import TurnTrace
from core.tracing.langsmith_export import exporting_client, flush, langsmith_enabled
from tests.monitoring.capture_server import CaptureServer


@pytest.fixture
def capture(monkeypatch):
    server = CaptureServer()
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY",
                 "LANGCHAIN_API_KEY", "LANGSMITH_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANGSMITH_ENDPOINT", server.url)
    get_env_var.cache_clear()  # langsmith caches what it read from the environment
    yield server
    server.close()
    monkeypatch.undo()
    get_env_var.cache_clear()


def test_nothing_is_sent_when_tracing_is_off(capture, monkeypatch, settings, engine) -> None:
    monkeypatch.setenv("LANGSMITH_API_KEY", "ls-test-key")  # a key alone does not turn it on
    assert not langsmith_enabled()
    runtime = Runtime.start(settings, engine=engine)
    runtime.chat.send(runtime.local_user("alice"), None, "how do I activate my card")
    runtime.close()
    assert capture.requests == []


def test_runs_and_metadata_arrive_when_tracing_is_on(capture, monkeypatch, settings, engine) -> None:
    monkeypatch.setenv("LANGSMITH_TRACING", "true")
    monkeypatch.setenv("LANGSMITH_API_KEY", "ls-test-key")
    monkeypatch.setenv("LANGSMITH_PROJECT", "concierge-test")
    assert langsmith_enabled()
    runtime = Runtime.start(settings, engine=engine)
    alice = runtime.local_user("alice")
    reply = runtime.chat.send(alice, None, "my card hasn't arrived, I'm jo@example.com")
    runtime.close()
    exporting_client().flush()
    flush()
    sent = capture.text()
    for node in ("classify_intent", "route_turn", "retrieve_passages", "write_answer"):
        assert node in sent, node
    assert "concierge_turn" in sent
    compact = sent.replace(" ", "")
    assert f'"conversation_id":{reply.conversation_id}' in compact
    assert '"intent":"card_arrival"' in compact
    assert "jo@example.com" not in sent  # masked by the client before it leaves
    assert '"user":"' in compact and f'"user":"{alice.id}"' not in compact
    with runtime.sessions() as session:
        trace = session.get(TurnTrace, reply.turn_id)
    assert trace.langsmith_run_id and trace.langsmith_run_id in sent

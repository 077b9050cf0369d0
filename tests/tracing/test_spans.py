"""Every turn leaves a trace: one span per node run, masked, stored with the turn."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest
from sqlalchemy import select

from core.runtime import Runtime
from core.storage.models import Span, TurnTrace
from core.tracing.spans import SpanRecorder


def test_a_turn_records_one_span_per_node_with_masked_summaries(settings, engine) -> None:
    runtime = Runtime.start(settings, engine=engine)
    alice = runtime.local_user("alice")
    reply = runtime.chat.send(alice, None, "my card hasn't arrived, call me on +44 20 7946 0958")
    assert runtime.chat.trace_writer.flush()
    with runtime.sessions() as session:
        spans = session.scalars(select(Span).where(Span.turn_id == reply.turn_id)
                                .order_by(Span.start_ms)).all()
        trace = session.get(TurnTrace, reply.turn_id)
    assert [s.node for s in spans] == ["classify_intent", "route_turn", "retrieve_passages",
                                       "write_answer"]
    assert spans[1].parent == "classify_intent" and spans[0].parent is None
    assert all(s.status == "ok" and s.duration_ms >= 0 for s in spans)
    assert all(b.start_ms >= a.start_ms for a, b in pairwise(spans))
    assert "[phone]" in spans[0].input_summary and "7946" not in spans[0].input_summary
    assert "card_arrival" in spans[0].output_summary
    assert "7946" not in trace.query and trace.passages and trace.alternatives
    assert trace.langsmith_run_id is None  # LangSmith export is off


def test_a_failing_node_is_an_error_span_and_the_apology_follows(settings, engine) -> None:
    runtime = Runtime.start(settings, engine=engine)

    def broken(*_args, **_kwargs):
        raise ValueError("index is corrupt")

    original = engine.agents.retriever.search
    engine.agents.retriever.search = broken
    try:
        reply = runtime.chat.send(runtime.local_user("alice"), None, "how do I activate my card")
    finally:
        engine.agents.retriever.search = original
    runtime.chat.trace_writer.flush()
    with runtime.sessions() as session:
        spans = {s.node: s for s in session.scalars(select(Span).where(Span.turn_id == reply.turn_id))}
    assert spans["retrieve_passages"].status == "error"
    assert "index is corrupt" in spans["retrieve_passages"].error
    assert "apologise" in spans and "write_answer" not in spans


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
def test_tracing_can_be_turned_off(settings, engine, on) -> None:
    runtime = Runtime.start(settings.model_copy(update={"trace_turns": on}), engine=engine)
    reply = runtime.chat.send(runtime.local_user("alice"), None, "hello")
    runtime.close()  # waits for the trace writer, if there is one, to store what it was given
    with runtime.sessions() as session:
        spans = session.scalars(select(Span).where(Span.turn_id == reply.turn_id)).all()
        trace = session.get(TurnTrace, reply.turn_id)
    assert (len(spans) > 0, trace is not None) == (on, on)


def test_a_span_cut_off_by_the_time_budget_is_kept_as_running() -> None:
    recorder = SpanRecorder()
    recorder.on_chain_start({}, {"text": "x"}, run_id=_id(1), parent_run_id=None)
    recorder.on_chain_start({}, {"text": "x"}, run_id=_id(2), parent_run_id=_id(1),
                            name="classify_intent")
    time.sleep(0.01)
    [span] = recorder.spans()
    assert (span.node, span.status) == ("classify_intent", "running") and span.duration_ms >= 10


def _id(n: int):
    import uuid

    return uuid.UUID(int=n)

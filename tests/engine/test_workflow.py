"""Workflow: routing, follow-ups, retries and the error handler, on an in-memory checkpointer."""

from __future__ import annotations

import dataclasses
import time
import uuid

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from core.engine.workflow import compile_workflow, looks_like_follow_up, route_turn


def run(graph, text: str, thread: str | None = None) -> dict:
    return graph.invoke({"text": text}, {"configurable": {"thread_id": thread or uuid.uuid4().hex}})


@pytest.fixture(scope="module")
def graph(engine):
    return compile_workflow(engine.agents, InMemorySaver())


@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("hello there", "smalltalk"),
        ("thanks a lot", "smalltalk"),
        ("can I speak with a real person", "handoff"),
        ("blue whales sing in the deep ocean at night", "clarify"),
        ("how do I get a disposable virtual card", "answer"),
    ],
)
def test_routes(graph, text: str, route: str) -> None:
    state = run(graph, text)
    assert state["route"] == route
    assert state["answer"]
    assert bool(state["sources"]) == (route == "answer")


def test_routing_is_pure_and_rejects_unknown_routes() -> None:
    assert route_turn({"intent": "human_agent"}) == "hand_off"
    assert route_turn({"intent": "greeting"}) == "reply_smalltalk"
    assert route_turn({"intent": "out_of_scope"}) == "ask_clarification"
    assert route_turn({"intent": "card_arrival"}) == "retrieve_passages"
    for broken in ({}, {"intent": ""}, {"intent": None}):
        with pytest.raises(ValueError):
            route_turn(broken)


def test_follow_up_uses_the_previous_topic(graph) -> None:
    thread = uuid.uuid4().hex
    first = run(graph, "I'd like to order a physical card", thread)
    assert first["route"] == "answer"
    follow = run(graph, "and how long does that take?", thread)
    alone = run(graph, "and how long does that take?")
    assert follow["follow_up"] is True and alone["follow_up"] is False
    assert "card" in follow["intent"] and follow["route"] == "answer", follow["intent"]
    assert follow["intent"] != alone["intent"]
    abroad = uuid.uuid4().hex
    run(graph, "How do I send money abroad?", abroad)
    assert run(graph, "and what does it cost?", abroad)["intent"] == "transfer_fee_charged"


def test_follow_up_detector() -> None:
    assert looks_like_follow_up("and what about fees?")
    assert looks_like_follow_up("how long does it take")
    assert not looks_like_follow_up("I lost my card yesterday at the station")


def test_each_turn_starts_clean(graph) -> None:
    thread = uuid.uuid4().hex
    run(graph, "how do I change my PIN", thread)
    state = run(graph, "hi", thread)
    assert state["route"] == "smalltalk" and state["sources"] == [] and state["passages"] == []


class FlakyRetriever:
    def __init__(self, inner, failures: int, error: type[Exception]):
        self.inner, self.failures, self.error = inner, failures, error

    def search(self, *args, **kwargs):
        if self.failures > 0:
            self.failures -= 1
            raise self.error("index unavailable")
        return self.inner.search(*args, **kwargs)


def test_transient_errors_are_retried(engine) -> None:
    agents = dataclasses.replace(
        engine.agents, retriever=FlakyRetriever(engine.agents.retriever, 2, ConnectionError)
    )
    state = run(compile_workflow(agents, InMemorySaver()), "how do I change my PIN")
    assert state["route"] == "answer" and not state.get("error")


def test_a_failing_agent_gets_an_apology_and_keeps_the_error(engine) -> None:
    agents = dataclasses.replace(
        engine.agents, retriever=FlakyRetriever(engine.agents.retriever, 99, RuntimeError)
    )
    state = run(compile_workflow(agents, InMemorySaver()), "how do I change my PIN")
    assert state["route"] == "error"
    assert "person" in state["answer"]
    assert "retrieve_passages" in state["error"] and "RuntimeError" in state["error"]


class SlowRetriever:
    def __init__(self, inner, seconds: float):
        self.inner, self.seconds = inner, seconds

    def search(self, *args, **kwargs):
        time.sleep(self.seconds)
        return self.inner.search(*args, **kwargs)


def test_an_agent_past_its_time_budget_does_not_crash_the_turn(engine, settings) -> None:
    from core.engine.engine import Engine
    from core.runtime import Runtime

    agents = dataclasses.replace(engine.agents, retriever=SlowRetriever(engine.agents.retriever, 5.0))
    graph = compile_workflow(agents, InMemorySaver())
    budget = settings.model_copy(update={"turn_timeout_s": 0.5})
    runtime = Runtime.start(budget, engine=Engine(engine.pack, agents, graph, 0.0))
    started = time.perf_counter()
    reply = runtime.chat.send(runtime.local_user("alice"), None, "how do I change my PIN")
    assert time.perf_counter() - started < 2.5  # budget 0.5 s; 5 s without it
    assert reply.route == "error" and reply.status == "error" and "person" in reply.text
    history = runtime.chat.transcript(runtime.local_user("alice"), reply.conversation_id)
    assert [m.answered for m in history] == [True, True] and history[1].text == reply.text


def test_a_clarifying_question_keeps_its_options_and_picking_one_answers_it(graph, engine) -> None:
    thread = uuid.uuid4().hex
    asked = run(graph, "my card question", thread)
    assert asked["route"] == "clarify" and len(asked["options"]) == 3
    assert all(f"- {title}" in asked["answer"] for title in asked["options"])
    picked = run(graph, asked["options"][0], thread)
    assert picked["route"] == "answer" and picked["options"] == []
    assert picked["sources"][0]["title"] == asked["options"][0]
    assert run(graph, "blue whales sing in the deep ocean at night")["options"] == []

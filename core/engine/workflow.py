"""The turn workflow: a LangGraph StateGraph over the three agents.

classify_intent -(route_turn)-> one of
    retrieve_passages -> write_answer | reply_smalltalk | ask_clarification | hand_off

Each conversation is a LangGraph thread, so `topic` and `topic_text` carry over between
turns and a follow-up ("and how long does that take?") is read together with the turn
that set the topic. Transient errors are retried by LangGraph's RetryPolicy; a node that
still fails goes to `apologise`, the graph's error handler, which replies politely,
offers a person and records the error. `build_workflow(agents)` returns the builder;
`compile_workflow(agents, checkpointer)` the runnable graph.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Literal, TypedDict

from langgraph.config import get_stream_writer
from langgraph.errors import NodeError
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy, Command, RetryPolicy

from agents.answer import (
    APOLOGY_REPLY,
    HANDOFF_REPLY,
    SMALLTALK_REPLIES,
    AnswerWriter,
    clarifying_question,
    compose_reply,
)
from agents.intent import OUT_OF_SCOPE, IntentClassifier, IntentPrediction
from agents.model_answer import ModelAnswerWriter, ModelUnavailable
from agents.retrieval import KnowledgeRetriever, Passage

Step = Literal["retrieve_passages", "reply_smalltalk", "ask_clarification", "hand_off"]
HANDOFF_INTENTS = frozenset({"human_agent"})
_FOLLOW_UP = re.compile(
    r"^(and|also|but|so|what about|how about|then)\b|\b(that|it|this|those|these|they|them|there)\b",
    re.IGNORECASE,
)


class TurnState(TypedDict, total=False):
    """Everything a turn reads and writes; the topic fields persist across turns."""

    text: str
    """The customer's message this turn (already validated by the chat service)."""
    model_version: int
    """The intent model answering this turn (core.learning; 0: the data pack alone)."""
    query: str
    """What retrieval searches: the message (its typos mended), joined to the topic text on a
    follow-up."""
    follow_up: bool
    """Whether this message was read as a follow-up to the previous topic."""
    intent: str
    """The predicted intent, or `out_of_scope` under the confidence threshold."""
    confidence: float
    """Calibrated confidence of the best intent."""
    best_guess: str
    """The model's best intent even when out of scope."""
    alternatives: list[list]
    """Runner-up intents with probabilities."""
    evidence: list[list]
    """With embeddings, the nearest training examples: [example, intent, cosine]."""
    route: str
    """The branch taken: answer, smalltalk, clarify, handoff or error."""
    passages: list[dict]
    """Retrieved passages (as dicts) with scores."""
    answer: str
    """The reply text shown to the customer."""
    sources: list[dict]
    """Articles the reply is grounded on: id, title, score."""
    options: list[str]
    """The topics (article titles) a clarifying question offered; empty otherwise."""
    error: str | None
    """What failed this turn, if anything."""
    model_call: dict | None
    """With a model configured: who wrote the answer, latency, tokens, why it fell back."""
    rewrite: str | None
    """With a model configured, how a follow-up became a stand-alone query (or why not)."""
    topic: str | None
    """The last intent that was answered: the context for a follow-up."""
    topic_text: str | None
    """The message that set `topic`."""


@dataclass(frozen=True)
class Agents:
    """The trained agents a workflow runs, plus the answer guard's settings."""

    classifier: IntentClassifier
    retriever: KnowledgeRetriever
    writer: AnswerWriter
    titles_by_intent: dict[str, str]
    min_passage_score: float = 0.35
    model: ModelAnswerWriter | None = None
    """Writes answers (and rewrites follow-ups) when a model is configured."""


def looks_like_follow_up(text: str) -> bool:
    """Short messages that lean on earlier context ("and how long does that take?")."""
    return len(text.split()) <= 10 and bool(_FOLLOW_UP.search(text))


def read_intent(classifier: IntentClassifier, state: TurnState) -> tuple[IntentPrediction, bool]:
    """The intent of this message, read with the previous topic when it is a follow-up."""
    text = state["text"]
    alone = classifier.predict(text)
    topic_text = state.get("topic_text")
    if not topic_text or not looks_like_follow_up(text):
        return alone, False
    # A message that leans on context cannot be trusted alone: read it with the topic
    # unless that reading is out of scope too.
    together = classifier.predict(f"{topic_text} {text}")
    return (together, True) if together.in_scope else (alone, False)


def route_turn(state: TurnState) -> Step:
    """The conditional edge after the intent agent: a pure function of the intent."""
    intent = state.get("intent")
    if not isinstance(intent, str) or not intent:
        raise ValueError(f"cannot route a turn without an intent: {intent!r}")
    if intent in HANDOFF_INTENTS:
        return "hand_off"
    if intent in SMALLTALK_REPLIES:
        return "reply_smalltalk"
    if intent == OUT_OF_SCOPE:
        return "ask_clarification"
    return "retrieve_passages"


def build_workflow(agents: Agents, cache_ttl_s: int | None = None) -> StateGraph:
    """The workflow's builder, wired to these agents."""

    def classify_intent(state: TurnState) -> TurnState:
        prediction, follow_up = read_intent(agents.classifier, state)
        text = agents.classifier.spelled(state["text"])  # retrieval reads the typos mended too
        return {
            "intent": prediction.intent,
            "confidence": prediction.confidence,
            "best_guess": prediction.best_guess,
            # lists, not tuples: the same after a round trip through checkpoints and the cache
            "alternatives": [[label, p] for label, p in prediction.alternatives],
            "evidence": [list(e) for e in prediction.evidence],
            "follow_up": follow_up,
            "query": f"{state.get('topic_text')} {text}" if follow_up else text,
            "passages": [],
            "sources": [],
            "options": [],
            "answer": "",
            "error": None,
            "model_call": None,
            "rewrite": None,
        }

    def retrieve_passages(state: TurnState) -> TurnState:
        update: TurnState = {}
        query = state["query"]
        if state.get("follow_up") and agents.model is not None:
            update = stand_alone_query(agents.model, state)
            query = update.get("query", query)
        passages = agents.retriever.search(query, intent=state["intent"], k=3)
        return update | {"passages": [asdict(p) for p in passages]}

    def write_answer(state: TurnState) -> TurnState:
        passages = [Passage(**p) for p in state["passages"]]
        options = options_for(agents, state)
        reply = compose_reply(
            state["query"],
            passages,
            agents.writer,
            intent_in_scope=state["intent"] != OUT_OF_SCOPE,
            min_score=agents.min_passage_score,
            options=options,
            model=agents.model,
            emit=get_stream_writer(),
        )
        update: TurnState = {
            "model_call": reply.model_call,
            "answer": reply.text,
            "route": reply.route,
            "sources": [asdict(s) for s in reply.sources],
        }
        if reply.route == "answer":
            update |= {"topic": state["intent"], "topic_text": state["query"]}
        elif reply.route == "clarify":
            update["options"] = options
        return update

    def reply_smalltalk(state: TurnState) -> TurnState:
        return {"answer": SMALLTALK_REPLIES[state["intent"]], "route": "smalltalk"}

    def ask_clarification(state: TurnState) -> TurnState:
        options = options_for(agents, state)
        return {"answer": clarifying_question(options), "route": "clarify", "options": options}

    def hand_off(state: TurnState) -> TurnState:
        return {"answer": HANDOFF_REPLY, "route": "handoff"}

    def apologise(state: TurnState, error: NodeError) -> Command:
        message = f"{error.node}: {type(error.error).__name__}: {error.error}"
        update = {"answer": APOLOGY_REPLY, "route": "error", "error": message[:500]}
        return Command(update=update, goto=END)

    builder = StateGraph(TurnState)
    builder.set_node_defaults(
        retry_policy=RetryPolicy(max_attempts=3, initial_interval=0.05, retry_on=_transient),
        error_handler=apologise,
    )
    cached = CachePolicy(key_func=_cache_key, ttl=cache_ttl_s) if cache_ttl_s else None
    builder.add_node("classify_intent", classify_intent, cache_policy=cached)
    builder.add_node("retrieve_passages", retrieve_passages, cache_policy=cached)
    builder.add_node("write_answer", write_answer)
    builder.add_node("reply_smalltalk", reply_smalltalk)
    builder.add_node("ask_clarification", ask_clarification)
    builder.add_node("hand_off", hand_off)
    builder.add_edge(START, "classify_intent")
    builder.add_conditional_edges("classify_intent", route_turn)
    builder.add_edge("retrieve_passages", "write_answer")
    for last in ("write_answer", "reply_smalltalk", "ask_clarification", "hand_off"):
        builder.add_edge(last, END)
    return builder


def stand_alone_query(model: ModelAnswerWriter, state: TurnState) -> TurnState:
    """The follow-up rewritten by the model, or (when it fails) the joined messages kept."""
    try:
        question = model.rewrite(state.get("topic_text") or "", state["text"])
    except ModelUnavailable as exc:
        return {"rewrite": f"kept the joined messages: {exc}"}
    return {"query": question, "rewrite": "rewritten by the model"}


def options_for(agents: Agents, state: TurnState) -> list[str]:
    """Article titles of the likeliest intents: the choices a clarifying question offers.

    None when the model's best guess is that the message is off-topic altogether.
    """
    if state.get("best_guess") == OUT_OF_SCOPE:
        return []
    ranked = [state.get("best_guess", "")] + [label for label, _ in state.get("alternatives", [])]
    titles = [agents.titles_by_intent[i] for i in ranked if i in agents.titles_by_intent]
    return list(dict.fromkeys(titles))[:3]


def _cache_key(state: TurnState) -> str:
    """What a cached agent's work depends on, as JSON (equal states give equal keys however
    their lists and numbers were built); LangGraph stores only a hash of it."""
    return json.dumps(state, sort_keys=True, default=str)


def _transient(error: Exception) -> bool:
    """Errors worth another try: timeouts and dropped connections, not bugs."""
    return isinstance(error, (TimeoutError, ConnectionError))


def compile_workflow(agents: Agents, checkpointer: object | None = None, cache: object | None = None,
                     cache_ttl_s: int | None = None):
    """The runnable graph.

    No `step_timeout`: in a synchronous run it moves every node onto a worker thread
    (+1.2 ms a turn) and still cannot stop a stuck node; the chat service enforces the
    turn's time budget instead.
    """
    if cache is None:
        cache_ttl_s = None
    return build_workflow(agents, cache_ttl_s).compile(  # type: ignore[arg-type]
        checkpointer=checkpointer, cache=cache)

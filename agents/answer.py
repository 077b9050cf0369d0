"""Answer agent: a grounded reply with its sources, or an honest question back.

The default `OfflineAnswerWriter` needs no model: it quotes the best passage's article
lead (its direct answer) and, when a later section matched better, that section too,
then names its sources. `decide_reply` is the guard around any writer: it answers only
from a passage that fits the predicted intent or matches the question strongly, and
otherwise asks one clarifying question or offers a person. A model
(`agents.model_answer.ModelAnswerWriter`) may write the reply instead, from the same
guarded passages; when it fails, the offline writer answers and the reply says why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

from agents.model_answer import ModelAnswerWriter, ModelPaused, ModelUnavailable
from agents.retrieval import Passage

Route = Literal["answer", "smalltalk", "clarify", "handoff", "error"]

SMALLTALK_REPLIES = {
    "greeting": "Hello! I'm the assistant. Ask me your question in a sentence and I'll find "
    "the answer in our help articles; if you'd rather talk to a person, just ask.",
    "thanks": "You're welcome! Is there anything else I can help you with?",
    "goodbye": "Thanks for chatting with us. Goodbye, and have a great day!",
}
HANDOFF_REPLY = (
    "I'll pass this conversation to a person on our support team. An agent will reply "
    "here as soon as one is free."
)
"""No hours here: they are the deployment's (`CONCIERGE_AGENT_HOURS`), and outside them the
chat service adds when agents are back."""
APOLOGY_REPLY = (
    "Sorry, something went wrong on our side while I was working on your question. "
    "Please try again in a moment, or choose \"Talk to a person\" and an agent will help."
)
NOTHING_FOUND_REPLY = (
    "I'm sorry, I couldn't find anything about that in our help articles. Could you tell "
    "me a bit more about what you need? If you prefer, I can connect you with a person."
)


@dataclass(frozen=True)
class Source:
    """An article a reply was grounded on."""

    id: str
    title: str
    score: float


@dataclass(frozen=True)
class Reply:
    """What the answer agent says, and why."""

    text: str
    route: Route
    sources: list[Source] = field(default_factory=list)
    model_call: dict | None = None
    """With a model configured: who wrote the reply (`mode`: model; fallback when it failed;
    paused when its circuit breaker was open), its latency and tokens, and why not (`error`)."""


class AnswerWriter(Protocol):
    """Writes the reply text from the question and the passages chosen to ground it."""

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]: ...


class OfflineAnswerWriter:
    """Composes the reply from the knowledge base, with no model at all."""

    def __init__(self, leads: dict[str, str], max_chars: int = 900):
        self.leads = leads
        self.max_chars = max_chars

    def stream(self, question: str, passages: Sequence[Passage]) -> Iterator[str]:
        best = passages[0]
        lead = self.leads.get(best.article_id, best.text)
        body = lead if best.text == lead else f"{lead}\n\n**{best.heading}**\n\n{best.text}"
        if len(body) > self.max_chars:
            body = body[: self.max_chars].rsplit("\n", 1)[0].rstrip() + "\n\n…"
        yield body


def clarifying_question(options: Sequence[str]) -> str:
    """One question offering the likeliest topics, and a person."""
    if not options:
        return NOTHING_FOUND_REPLY
    listed = "\n".join(f"- {o}" for o in options)
    return (
        "I want to be sure I answer the right question. Is it about one of these?\n\n"
        f"{listed}\n\nTell me a little more, or ask for a person and I'll connect you."
    )


def grounding(
    passages: Sequence[Passage], *, intent_in_scope: bool, min_score: float
) -> list[Passage]:
    """The passages a reply may rest on; empty when none is trustworthy.

    A passage qualifies when its article answers the confidently predicted intent and
    shares words with the question, or when it matches the question strongly by itself.
    """
    usable = [
        p
        for p in passages
        if (intent_in_scope and p.intent_match and p.score > 0.0) or p.score >= min_score
    ]
    return usable[:1] + [p for p in usable[1:] if p.score >= min_score][:1]


def compose_reply(
    question: str,
    passages: Sequence[Passage],
    writer: AnswerWriter,
    *,
    intent_in_scope: bool,
    min_score: float,
    options: Sequence[str] = (),
    model: ModelAnswerWriter | None = None,
    emit: Callable[[str], None] | None = None,
) -> Reply:
    """A grounded answer, or a clarifying question when grounding is not good enough.

    With a `model`, it writes the answer from the grounding passages and the sources are
    the passages it cites; if it fails, the offline `writer` answers instead. The reply is
    streamed to `emit` as it is written (a failed model's partial reply is superseded by
    the final text).
    """
    emit = emit or (lambda token: None)
    grounded = grounding(passages, intent_in_scope=intent_in_scope, min_score=min_score)
    if not grounded:
        return Reply(clarifying_question(options), "clarify")
    model_call = None
    if model is not None:
        try:
            written = model.answer(question, grounded, emit)
        except ModelUnavailable as exc:
            mode = "paused" if isinstance(exc, ModelPaused) else "fallback"
            model_call = {"mode": mode, "model": model.model_name, "error": str(exc)}
        else:
            cited = [grounded[n - 1] for n in written.cited]
            sources = [Source(p.article_id, p.title, p.score) for p in cited]
            tail = _sources_line(f"[{n}] {p.title}" for n, p in zip(written.cited, cited))
            emit(tail)
            return Reply(written.text + tail, "answer", sources,
                         {"mode": "model", **asdict(written.usage)})
    text = "".join(writer.stream(question, grounded))
    sources = [Source(p.article_id, p.title, p.score) for p in grounded]
    reply = text + _sources_line(s.title for s in sources)
    emit(reply)
    return Reply(reply, "answer", sources, model_call)


def _sources_line(labels: Iterable[str]) -> str:
    """The line that ends a grounded answer: the articles it rests on."""
    return "\n\nSources: " + "; ".join(labels)

"""Model-written answers: a chat model writes the reply from the passages it is given.

`ModelAnswerWriter` asks any LangChain chat model (`ChatOpenAI` in the app, so any
OpenAI-compatible server) for a short answer that cites the numbered passages it was
given, and streams the reply token by token to `emit`. It also rewrites a follow-up
("and how long does that take?") into a stand-alone question before retrieval.

Whatever goes wrong becomes `ModelUnavailable` with a short reason, so the caller falls
back to the offline answer:
- the whole attempt, the client's own retries included, is bounded by `timeout_s` (the
  model is read on a thread of its own; past the deadline the reader is abandoned, and a
  stalled one holds only its own thread);
- a reply that is empty, runs away, or cites no passage it was given is refused;
- a circuit breaker (pybreaker) stops asking a model that keeps failing, for a while.
Customer text is passed through `redact` (PII masking) before it leaves the process.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pybreaker
from langchain_core.messages import HumanMessage, SystemMessage

from agents.retrieval import Passage

ANSWER_INSTRUCTIONS = (
    "You are the customer-service assistant of a bank. Answer the customer's question "
    "using only the numbered passages below. Be brief: at most four sentences or a short "
    "list. Cite every passage you use by its number in square brackets, like [1]. If the "
    "passages do not answer the question, say so and offer to connect the customer with a "
    "person. Never ask for passwords, PINs or full card numbers."
)
REWRITE_INSTRUCTIONS = (
    "Rewrite the customer's last message as one stand-alone question that makes sense "
    "without the earlier message. Reply with the question only."
)
MAX_REPLY_CHARS = 3000
MAX_QUESTION_CHARS = 300
_CITATION = re.compile(r"\[(\d{1,3})\]")
_TARGET = r"\((?:[^()]|\([^()]*\))*\)"  # a link target, with one level of parentheses inside
_IMAGE = re.compile(r"!\[([^\]]*)\]" + _TARGET)
_LINK = re.compile(r"\[([^\]]+)\]" + _TARGET)
MAX_READS_IN_FLIGHT = 64
"""Model reads running at once, abandoned ones included (each holds its own thread until
the client's timeout ends it): past this, a turn gets the offline answer at once."""
_READS_IN_FLIGHT = threading.BoundedSemaphore(MAX_READS_IN_FLIGHT)


class ModelUnavailable(Exception):
    """The model gave no usable reply; the message is the reason, for traces and stats."""


class ModelPaused(ModelUnavailable):
    """The circuit breaker is open: the model was not asked at all."""


@dataclass(frozen=True)
class ModelUsage:
    """What one model call cost."""

    model: str
    latency_ms: float
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class ModelAnswer:
    """A model-written reply and the passages (1-based numbers) it cites."""

    text: str
    cited: list[int]
    usage: ModelUsage


class BreakerListener(pybreaker.CircuitBreakerListener):
    """Tells `on_change` when the breaker opens ("open") or closes again ("closed")."""

    def __init__(self, on_change: Callable[[str], None]):
        self.on_change = on_change

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        if old_state is not None and new_state.name != getattr(old_state, "name", None):
            self.on_change(str(new_state.name))


def circuit_breaker(failures: int, reset_s: float,
                    on_change: Callable[[str], None] | None = None) -> pybreaker.CircuitBreaker:
    """Opens after `failures` failed calls in a row; lets one call try again after `reset_s`."""
    listeners = [BreakerListener(on_change)] if on_change else []
    return pybreaker.CircuitBreaker(fail_max=failures, reset_timeout=reset_s, name="model",
                                    listeners=listeners, throw_new_error_on_trip=False)


def passages_prompt(passages: Sequence[Passage]) -> str:
    return "\n\n".join(
        f"[{n}] {p.title} — {p.heading}\n{p.text}" for n, p in enumerate(passages, start=1)
    )


def cited_passages(text: str, count: int) -> list[int]:
    """The passage numbers a reply cites, in order; ModelUnavailable for invented ones."""
    numbers = list(dict.fromkeys(int(n) for n in _CITATION.findall(text)))
    invented = [n for n in numbers if not 1 <= n <= count]
    if invented:
        raise ModelUnavailable(f"the reply cites passage {invented[0]}, which it was not given")
    if not numbers:
        raise ModelUnavailable("the reply cites none of the passages")
    return numbers


def tidy(text: str) -> str:
    """The reply as shown: images dropped and links reduced to their text (a model must
    not make the customer's browser fetch or open anything)."""
    return _LINK.sub(r"\1", _IMAGE.sub(r"\1", text)).strip()


class ModelAnswerWriter:
    """Answers and rewrites with a chat model, within a time budget and a circuit breaker."""

    def __init__(self, chat_model: Any, *, model_name: str, timeout_s: float,
                 breaker: pybreaker.CircuitBreaker | None = None,
                 redact: Callable[[str], str] = lambda text: text):
        self.chat_model = chat_model
        self.model_name = model_name
        self.timeout_s = timeout_s
        self.breaker = breaker or circuit_breaker(5, 30.0)
        self.redact = redact

    def answer(self, question: str, passages: Sequence[Passage],
               emit: Callable[[str], None] = lambda token: None) -> ModelAnswer:
        """A reply citing `passages`, streamed to `emit`; or ModelUnavailable."""
        messages = [
            SystemMessage(ANSWER_INSTRUCTIONS),
            HumanMessage(f"Passages:\n\n{passages_prompt(passages)}\n\n"
                         f"Customer question: {self.redact(question)}"),
        ]
        with self._guarded():
            text, usage = self._stream(messages, emit, MAX_REPLY_CHARS)
            text = tidy(text)
            if not text:
                raise ModelUnavailable("the reply was empty")
            return ModelAnswer(text, cited_passages(text, len(passages)), usage)

    def rewrite(self, earlier: str, message: str) -> str:
        """`message` as a stand-alone question, read with the `earlier` one; or ModelUnavailable."""
        messages = [
            SystemMessage(REWRITE_INSTRUCTIONS),
            HumanMessage(f"Earlier message: {self.redact(earlier)}\n"
                         f"Last message: {self.redact(message)}"),
        ]
        with self._guarded():
            text, _ = self._stream(messages, lambda token: None, MAX_QUESTION_CHARS)
            question = " ".join(text.split()).strip("\"' ")
            if not question:
                raise ModelUnavailable("the rewritten question was empty")
            return question

    @contextmanager
    def _guarded(self) -> Iterator[None]:
        """A model call under the circuit breaker: its failures (unusable replies included)
        count towards opening it, and an open breaker fails at once."""
        try:
            with self.breaker.calling():
                yield
        except pybreaker.CircuitBreakerError:
            raise ModelPaused("the model is paused after repeated failures "
                              "(circuit breaker open)") from None

    def _stream(self, messages: list, emit: Callable[[str], None],
                max_chars: int) -> tuple[str, ModelUsage]:
        started = time.perf_counter()
        deadline = time.monotonic() + self.timeout_s
        parts: list[str] = []
        usage: dict = {}
        length = 0
        for chunk in _read_until(deadline, lambda: self.chat_model.stream(messages)):
            if getattr(chunk, "usage_metadata", None):
                usage = dict(chunk.usage_metadata)
            token = chunk.content if isinstance(chunk.content, str) else ""
            if not token:
                continue
            length += len(token)
            if length > max_chars:
                raise ModelUnavailable(f"the reply ran past {max_chars} characters")
            parts.append(token)
            emit(token)
        return "".join(parts), ModelUsage(
            model=self.model_name,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            prompt_tokens=usage.get("input_tokens"),
            completion_tokens=usage.get("output_tokens"),
        )


def _read_until(deadline: float, open_stream: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """The stream's chunks, read on a worker thread; ModelUnavailable once `deadline`
    (time.monotonic) passes or the stream fails. An abandoned reader stops at its next chunk
    (or when the client's own timeout ends its wait)."""
    chunks: queue.Queue = queue.Queue()
    stop = threading.Event()
    done = object()

    def read() -> None:
        try:
            for chunk in open_stream():
                if stop.is_set():
                    return
                chunks.put(chunk)
            chunks.put(done)
        except Exception as exc:  # noqa: BLE001 (handed to the waiting caller)
            chunks.put(exc)
        finally:
            _READS_IN_FLIGHT.release()

    # Its own thread, not a pool's: a stalled read (a server that stops sending) keeps only
    # that thread, and no other read queues behind it.
    if not _READS_IN_FLIGHT.acquire(blocking=False):
        raise ModelUnavailable("too many model calls are waiting for the model server")
    threading.Thread(target=read, name="model-read", daemon=True).start()
    try:
        while True:
            try:
                item = chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise ModelUnavailable("the model did not finish in time") from None
            if item is done:
                return
            if isinstance(item, Exception):
                raise ModelUnavailable(_reason(item)) from item
            yield item
    finally:
        stop.set()


def _reason(error: Exception) -> str:
    """A short, secret-free reason for a failed call (status and error type, no bodies)."""
    status = getattr(error, "status_code", None)
    kind = type(error).__name__
    if status:
        return f"the model server answered {status} ({kind})"
    if "Timeout" in kind:
        return "the model server timed out"
    if "Connection" in kind:
        return "the model server could not be reached"
    return f"the model call failed ({kind})"

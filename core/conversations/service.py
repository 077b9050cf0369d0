"""ChatService: validate -> store the question -> run the workflow -> store the reply.

The customer's message is committed before the workflow runs, so a crash mid-turn
leaves it on record as unanswered (a customer message without a turn). While a person
was asked for or holds the conversation (status `waiting` or `open`), the workflow does
not run: the message is stored for the person and the bot stays silent. Whatever the workflow does, the
customer gets a reply: a failure becomes a polite apology and the turn is stored with
its error. Every call checks the caller's permission and conversation ownership.
"""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy import Engine as Database
from sqlalchemy.orm import Session, sessionmaker

from agents.answer import APOLOGY_REPLY
from core.conversations import store as chat_store
from core.conversations.agent_hours import AgentHours
from core.conversations.validation import clean_message
from core.engine.engine import Engine
from core.events import EventBus
from core.security.auth import NotAllowed, Principal, require
from core.security.rate_limits import ChatRateLimiter
from core.storage.database import bound_database, turn_writes
from core.storage.models import Conversation, Feedback, Message, Turn, User, utcnow
from core.storage.retry import on_connection_loss
from core.tracing.langsmith_export import turn_exporter, user_pseudonym
from core.tracing.spans import SpanRecorder
from core.tracing.writer import PendingTrace, TraceWriter

# NotAllowed is re-exported: callers catch it from here.
__all__ = ["ChatReply", "ChatService", "ConversationNotFound", "NotAllowed", "TranscriptEntry",
           "TurnStream"]

_TURN_WORKERS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="turn")
_STREAMED_TURNS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="streamed-turn")
_END = object()
_NOT_FOUND = "That conversation doesn't exist or isn't yours."


class ConversationNotFound(LookupError):
    """No such conversation for this customer (also said for other customers' ids)."""


@dataclass(frozen=True)
class ChatReply:
    """The outcome of one turn, as the page and the CLI show it."""

    text: str
    intent: str | None
    confidence: float | None
    route: str
    sources: list[dict] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    """A clarifying question's topics (article titles), for the customer to pick one."""
    latency_ms: float = 0.0
    conversation_id: int = 0
    turn_id: int = 0
    status: str = "ok"
    created_at: datetime | None = None
    answered_by: str = "offline"
    """`model` when the configured model wrote it; `fallback` or `paused` when it could not."""

    @property
    def for_person(self) -> bool:
        """The message went to a person: no reply from the bot."""
        return self.route == "person"


@dataclass(frozen=True)
class TranscriptEntry:
    """One stored message, with its turn's details when it is a reply."""

    role: str
    text: str
    answered: bool
    """False for a customer message the assistant never answered (e.g. a crash mid-turn)."""
    turn_id: int | None = None
    sources: list[dict] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    """A clarifying question's topics, for the customer to pick one."""
    intent: str | None = None
    confidence: float | None = None
    feedback: int | None = None
    sender: str | None = None
    """Who wrote an agent message (their username)."""
    message_id: int = 0
    """The stored message's id (ids grow: `transcript(after=...)` reads from here on)."""
    question_id: int | None = None
    """For a reply, the customer message it answers."""


class TurnStream:
    """A turn whose reply is being written: iterate for its text as it comes, then read
    `reply` (the stored reply, whose text is final: it supersedes what was streamed when
    a model failed half-way and the offline answer replaced it)."""

    def __init__(self, conversation_id: int, future: Future[ChatReply], chunks: queue.Queue,
                 for_person: bool = False):
        self.conversation_id = conversation_id
        self.for_person = for_person
        """The message went to the person holding the conversation: no reply is written
        (known at once, unlike `reply`, which waits for the whole turn)."""
        self._future = future
        self._chunks = chunks
        future.add_done_callback(lambda _: chunks.put(_END))

    def __iter__(self) -> Iterator[str]:
        streamed = False
        while (chunk := self._chunks.get()) is not _END:
            streamed = True
            yield chunk
        if not streamed:  # replies that are not written piece by piece (small talk, errors)
            yield self.reply.text

    @property
    def reply(self) -> ChatReply:
        """The stored reply (waits for it); raises what the turn raised."""
        return self._future.result()


class ChatService:
    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        *,
        max_message_chars: int = 2000,
        limiter: ChatRateLimiter | None = None,
        turn_timeout_s: float = 20.0,
        trace_writer: TraceWriter | None = None,
        pseudonym_secret: bytes = b"",
        events: EventBus | None = None,
        hours: AgentHours | None = None,
    ):
        self.engine = engine
        self.sessions = sessions
        self._database: Database = bound_database(sessions)
        """The sessions' database: a turn's two transactions run on a plain Connection
        (no Session to set up and tear down on the hot path)."""
        self._turn_writes = turn_writes(self._database)
        """Taken first come, first served on SQLite (see core.storage.fair_lock)."""
        self.max_message_chars = max_message_chars
        self.limiter = limiter
        self.turn_timeout_s = turn_timeout_s
        self.trace_writer = trace_writer
        self.tracing = trace_writer is not None
        """Record each turn's spans (the workflow traces page reads them)."""
        self.pseudonym_secret = pseudonym_secret
        self.events = events
        self.hours = hours
        """Agent hours: outside them a hand-off reply says when agents are back."""
        self._owners: dict[int, tuple[int, str]] = {}

    @on_connection_loss
    def start_conversation(self, user: Principal, title: str = "New conversation") -> int:
        """A new conversation; RateLimited past the per-user limit on new conversations."""
        require(user, "chat:use")
        self._count(user, "conversation")
        with self.sessions.begin() as session:
            conversation = Conversation(
                user_id=user.id, title=title[:120], thread_id=uuid.uuid4().hex
            )
            session.add(conversation)
            session.flush()
            return conversation.id

    def send(self, user: Principal, conversation_id: int | None, text: object) -> ChatReply:
        """One turn. Raises InvalidMessage, RateLimited, NotAllowed or ConversationNotFound."""
        accepted = self._accept(user, conversation_id, text)
        if accepted[2] is None:
            return _for_person(accepted[0])
        return self._answer(user, *accepted)

    def stream(self, user: Principal, conversation_id: int | None, text: object) -> TurnStream:
        """`send`, with the reply streamed as it is written. Bad input raises here, before
        anything is stored, exactly as in `send`."""
        accepted = self._accept(user, conversation_id, text)
        chunks: queue.Queue = queue.Queue()
        if accepted[2] is None:
            future: Future[ChatReply] = Future()
            future.set_result(_for_person(accepted[0]))
            return TurnStream(accepted[0], future, chunks, for_person=True)
        future = _STREAMED_TURNS.submit(self._answer, user, *accepted, chunks.put)
        return TurnStream(accepted[0], future, chunks)

    def _accept(self, user: Principal, conversation_id: int | None,
                text: object) -> tuple[int, str, int | None, str]:
        """Checks, then the stored question: (conversation, thread, question id, clean text);
        the question id is None when the message went to a person."""
        require(user, "chat:use")
        text = clean_message(text, max_chars=self.max_message_chars)
        self._count(user, "chat")
        if conversation_id is None:
            conversation_id = self.start_conversation(user, title=_title_from(text))
        thread_id, question_id = self._store_question(user, conversation_id, text)
        return conversation_id, thread_id, question_id, text

    def answer_pending(self, user: Principal, conversation_id: int) -> ChatReply | None:
        """Answer the conversation's unanswered customer message (left by a crash mid-turn),
        or None when every message has its reply."""
        require(user, "chat:use")
        with self.sessions() as session:
            thread_id = self._owned_thread(session, user, conversation_id)
            answered = select(Turn.question_id).where(Turn.conversation_id == conversation_id)
            pending = session.execute(
                select(Message.id, Message.body).where(
                    Message.conversation_id == conversation_id, Message.role == "customer",
                    Message.for_person.is_(False), Message.id.not_in(answered))
                .order_by(Message.id.desc()).limit(1)).first()
        if pending is None:
            return None
        self._count(user, "chat")  # a whole turn of work, like a message
        return self._answer(user, conversation_id, thread_id, pending[0], pending[1])

    def _answer(self, user: Principal, conversation_id: int, thread_id: str, question_id: int,
                text: str, on_token: Callable[[str], None] | None = None) -> ChatReply:
        """Run the workflow on a stored customer message and store its reply."""
        started = time.perf_counter()
        recorder = SpanRecorder() if self.tracing else None
        exporter = turn_exporter()
        callbacks = [c for c in (recorder, exporter) if c is not None]
        metadata = {"conversation_id": conversation_id,
                    "user": user_pseudonym(user.id, self.pseudonym_secret)} if exporter else None
        state = self._run_within_budget(thread_id, text, callbacks, metadata, on_token)
        latency_ms = (time.perf_counter() - started) * 1000
        reply = self._store_reply(conversation_id, question_id, state, latency_ms)
        if recorder is not None and self.trace_writer is not None:
            run_id = recorder.root_run_id if exporter else None
            self.trace_writer.submit(PendingTrace(
                reply.turn_id, reply.created_at, state, recorder, str(run_id) if run_id else None
            ))
        return reply

    @on_connection_loss
    def _store_question(self, user: Principal, conversation_id: int,
                        text: str) -> tuple[str, int | None]:
        """Stored before any work, so a crash mid-turn leaves it on record as unanswered;
        (thread, None) when a person was asked for or holds the conversation."""
        with self._turn_writes, self._database.begin() as connection:
            thread_id = self._owned_thread(connection, user, conversation_id)
            for_person = chat_store.conversation_status(connection, conversation_id) in (
                "waiting", "open")
            message_id = chat_store.add_message(
                connection, conversation_id=conversation_id, role="customer", body=text,
                for_person=for_person)
            return thread_id, None if for_person else message_id

    def _count(self, user: Principal, action: str) -> None:
        """Count one `action` against the user's limit (RateLimited when over)."""
        if self.limiter:
            self.limiter.check(user.id, action)

    def forget_conversations(self, conversation_ids: list[int]) -> None:
        """Drop cached owners of deleted conversations."""
        for conversation_id in conversation_ids:
            self._owners.pop(conversation_id, None)

    def _owned_thread(self, db: Connection | Session, user: Principal,
                      conversation_id: int) -> str:
        """The conversation's LangGraph thread, after checking the user owns it.

        Owner and thread never change, so found pairs are remembered (a turn's hot path).
        """
        found = self._owners.get(_check_id(conversation_id))
        if found is None:
            found = chat_store.conversation_owner_and_thread(db, conversation_id)
            if found is not None:
                if len(self._owners) > 100_000:
                    self._owners.clear()
                self._owners[conversation_id] = found
        if found is None or found[0] != user.id:
            raise ConversationNotFound(_NOT_FOUND)
        return found[1]

    def _run_within_budget(self, thread_id: str, text: str, callbacks: list,
                           metadata: dict | None,
                           on_token: Callable[[str], None] | None = None) -> dict:
        """The workflow's final state, or an apology state when it fails or overruns.

        The turn runs on a worker thread so the customer is answered when the budget is
        spent even if an agent is stuck (a Python thread cannot be killed; it finishes
        in the background and its result is dropped).
        """
        future = _TURN_WORKERS.submit(self.engine.run_turn, thread_id, text, callbacks, metadata,
                                      on_token)
        try:
            return future.result(timeout=self.turn_timeout_s)
        except FutureTimeout:
            future.cancel()  # still queued behind busy workers: never run it for nobody
            error = f"TimeoutError: the turn took longer than its {self.turn_timeout_s:g} s budget"
        except Exception as exc:  # noqa: BLE001 (the customer still gets an answer; the turn keeps the error)
            error = f"{type(exc).__name__}: {exc}"[:500]
        return {"answer": APOLOGY_REPLY, "route": "error", "error": error}

    @on_connection_loss
    def _store_reply(self, conversation_id: int, question_id: int, state: dict,
                     latency_ms: float) -> ChatReply:
        error = state.get("error")
        intent = state.get("intent")
        created_at = utcnow()
        handoff = state["route"] == "handoff"
        if handoff and self.hours is not None and not self.hours.is_open():
            state = {**state, "answer": f"{state['answer']} {self.hours.back_at()}"}
        with self._turn_writes, self._database.begin() as connection:
            if handoff:
                chat_store.queue_for_person(connection, conversation_id)
            reply_id = chat_store.add_message(
                connection, conversation_id=conversation_id, role="assistant",
                body=state["answer"],
            )
            turn_id = chat_store.add_turn(
                connection, conversation_id=conversation_id, question_id=question_id,
                reply_id=reply_id, intent=intent, confidence=state.get("confidence"),
                route=state["route"], sources=state.get("sources", []),
                options=state.get("options", []), latency_ms=latency_ms,
                status="error" if error else "ok", error=error, created_at=created_at,
                model_version=state.get("model_version"),
                **_model_columns(state.get("model_call")),
            )
        reply = ChatReply(
            text=state["answer"], intent=intent, confidence=state.get("confidence"),
            route=state["route"], sources=state.get("sources", []),
            options=state.get("options", []), latency_ms=latency_ms,
            conversation_id=conversation_id, turn_id=turn_id, status="error" if error else "ok",
            created_at=created_at, answered_by=(state.get("model_call") or {}).get("mode", "offline"),
        )
        if handoff:
            self._announce_handoff(conversation_id)
        return reply

    def transcript(self, user: Principal, conversation_id: int,
                   after: int = 0) -> list[TranscriptEntry]:
        """The conversation as the chat page replays it: each reply with its turn's details
        (agents' private notes left out).

        `after` (a message id) reads only the messages stored since: the page keeps what it
        has already shown and asks only for what is new (read and decrypted once).
        """
        require(user, "chat:use")
        with self.sessions() as session:
            _owned_id(session, user, conversation_id)
            rows = session.execute(
                select(Message, Turn, Feedback.score, User.username)
                .outerjoin(Turn, Turn.reply_id == Message.id)
                .outerjoin(Feedback, Feedback.turn_id == Turn.id)
                .outerjoin(User, User.id == Message.sender_id)
                .where(Message.conversation_id == conversation_id, Message.role != "note",
                       Message.id > after)
                .order_by(Message.id)
            ).all()
            answered = set(session.scalars(
                select(Turn.question_id).where(Turn.conversation_id == conversation_id,
                                               Turn.question_id > after)
            )) if rows else set()
        return [
            TranscriptEntry(
                role=m.role, text=m.body,
                answered=m.role != "customer" or m.for_person or m.id in answered,
                turn_id=t.id if t else None, sources=t.sources if t else [],
                options=(t.options or []) if t else [],
                intent=t.intent if t else None, confidence=t.confidence if t else None,
                feedback=score, sender=sender, message_id=m.id,
                question_id=t.question_id if t else None,
            )
            for m, t, score, sender in rows
        ]

    def give_feedback(self, user: Principal, turn_id: int, score: int) -> None:
        """Thumbs up (1) or down (0) on a reply in one of the customer's conversations."""
        require(user, "chat:use")
        if score not in (0, 1):
            raise ValueError("Feedback is thumbs up (1) or thumbs down (0).")
        with self.sessions.begin() as session:
            turn = session.get(Turn, _check_id(turn_id))
            if turn is None:
                raise ConversationNotFound(_NOT_FOUND)
            _owned(session, user, turn.conversation_id)
            existing = session.scalar(select(Feedback).where(Feedback.turn_id == turn_id))
            if existing:
                existing.score = score
            else:
                session.add(Feedback(turn_id=turn_id, user_id=user.id, score=score))

    def request_handoff(self, user: Principal, conversation_id: int) -> None:
        """Put the conversation in the queue for a person (no change when already there;
        RateLimited past the per-user limit on such requests)."""
        require(user, "chat:use")
        self._count(user, "handoff")
        with self.sessions.begin() as session:
            _owned(session, user, conversation_id)
            queued = chat_store.queue_for_person(session, conversation_id)
        if queued:
            self._announce_handoff(conversation_id)

    def _announce_handoff(self, conversation_id: int) -> None:
        if self.events is not None:
            self.events.publish("handoff_requested", "A customer asked for a person",
                                conversation_id=conversation_id)

    def conversations(self, user: Principal, limit: int | None = None) -> list[Conversation]:
        """The customer's own conversations, newest first (the first `limit` of them: only
        those titles are read and decrypted)."""
        require(user, "chat:use")
        with self.sessions() as session:
            last_message = (
                select(func.max(Message.id)).where(Message.conversation_id == Conversation.id)
                .correlate(Conversation).scalar_subquery()
            )
            rows = session.scalars(
                select(Conversation).where(Conversation.user_id == user.id)
                .order_by(func.coalesce(last_message, 0).desc(), Conversation.id.desc())
                .limit(limit)
            )
            return list(rows)


def _for_person(conversation_id: int) -> ChatReply:
    return ChatReply(text="", intent=None, confidence=None, route="person",
                     conversation_id=conversation_id, created_at=utcnow())


def _model_columns(call: dict | None) -> dict:
    """The turn's answer-model columns from the workflow's `model_call` (none offline)."""
    if not call:
        return {}
    return {
        "answer_mode": call.get("mode"), "model_ms": call.get("latency_ms"),
        "prompt_tokens": call.get("prompt_tokens"),
        "completion_tokens": call.get("completion_tokens"),
        "model_error": (call.get("error") or "")[:200] or None,
    }


def _check_id(conversation_id: object) -> int:
    """A conversation or turn id as stored (a positive 64-bit int), or ConversationNotFound."""
    if (isinstance(conversation_id, bool) or not isinstance(conversation_id, int)
            or not 0 < conversation_id < 2**63):
        raise ConversationNotFound(_NOT_FOUND)
    return conversation_id


def _owned_id(session: Session, user: Principal, conversation_id: int) -> None:
    """`_owned` without loading the row (its title would be decrypted for nothing)."""
    owner = session.scalar(select(Conversation.user_id).where(
        Conversation.id == _check_id(conversation_id)))
    if owner is None or owner != user.id:
        raise ConversationNotFound(_NOT_FOUND)


def _owned(session: Session, user: Principal, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, _check_id(conversation_id))
    if conversation is None or conversation.user_id != user.id:
        raise ConversationNotFound(_NOT_FOUND)
    return conversation


def _title_from(text: str) -> str:
    first_line = text.splitlines()[0]
    return first_line if len(first_line) <= 60 else first_line[:57].rstrip() + "…"

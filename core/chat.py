"""ChatService: validate -> store the question -> run the workflow -> store the reply.

The customer's message is committed (status `pending`) before the workflow runs, so a
crash mid-turn leaves it on record as unanswered. Whatever the workflow does, the
customer gets a reply: a failure becomes a polite apology and the turn is stored with
its error. Every call checks the caller's permission and conversation ownership.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agents.answer import APOLOGY_REPLY
from core import chat_store
from core.auth import Principal
from core.engine import Engine
from core.models import Conversation, Message
from core.ratelimit import ChatRateLimiter
from core.validation import clean_message


_NOT_FOUND = "That conversation doesn't exist or isn't yours."


class NotAllowed(PermissionError):
    """The caller may not do this."""


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
    latency_ms: float = 0.0
    conversation_id: int = 0
    turn_id: int = 0
    status: str = "ok"


class ChatService:
    def __init__(
        self,
        engine: Engine,
        sessions: sessionmaker[Session],
        *,
        max_message_chars: int = 2000,
        limiter: ChatRateLimiter | None = None,
    ):
        self.engine = engine
        self.sessions = sessions
        self.max_message_chars = max_message_chars
        self.limiter = limiter

    def start_conversation(self, user: Principal, title: str = "New conversation") -> int:
        _require(user, "chat:use")
        with self.sessions.begin() as session:
            conversation = Conversation(
                user_id=user.id, title=title[:120], thread_id=uuid.uuid4().hex
            )
            session.add(conversation)
            session.flush()
            return conversation.id

    def send(self, user: Principal, conversation_id: int | None, text: object) -> ChatReply:
        """One turn. Raises InvalidMessage, RateLimited, NotAllowed or ConversationNotFound."""
        _require(user, "chat:use")
        text = clean_message(text, max_chars=self.max_message_chars)
        if self.limiter:
            self.limiter.check(user.id)
        if conversation_id is None:
            conversation_id = self.start_conversation(user, title=_title_from(text))
        with self.sessions.begin() as session:
            thread_id = _owned_thread(session, user, conversation_id)
            question_id = chat_store.add_message(
                session, conversation_id=conversation_id, role="customer", body=text,
                status="pending",
            )
        started = time.perf_counter()
        try:
            state = self.engine.run_turn(thread_id, text)
        except Exception as exc:  # the customer still gets an answer; the turn keeps the error
            state = {"answer": APOLOGY_REPLY, "route": "error",
                     "error": f"{type(exc).__name__}: {exc}"[:500]}
        latency_ms = (time.perf_counter() - started) * 1000
        return self._store_reply(conversation_id, question_id, state, latency_ms)

    def _store_reply(self, conversation_id: int, question_id: int, state: dict,
                     latency_ms: float) -> ChatReply:
        error = state.get("error")
        intent = state.get("intent")
        with self.sessions.begin() as session:
            reply_id = chat_store.add_message(
                session, conversation_id=conversation_id, role="assistant",
                body=state["answer"], status="answered",
            )
            turn_id = chat_store.add_turn(
                session, conversation_id=conversation_id, question_id=question_id,
                reply_id=reply_id, intent=intent, confidence=state.get("confidence"),
                route=state["route"], sources=state.get("sources", []), latency_ms=latency_ms,
                status="error" if error else "ok", error=error,
            )
            chat_store.mark_answered(session, conversation_id=conversation_id,
                                     question_id=question_id)
        return ChatReply(
            text=state["answer"], intent=intent, confidence=state.get("confidence"),
            route=state["route"], sources=state.get("sources", []), latency_ms=latency_ms,
            conversation_id=conversation_id, turn_id=turn_id, status="error" if error else "ok",
        )

    def history(self, user: Principal, conversation_id: int) -> list[Message]:
        """The conversation's messages, oldest first (the owner only)."""
        _require(user, "chat:use")
        with self.sessions() as session:
            _owned(session, user, conversation_id)
            rows = session.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
            )
            return list(rows)

    def conversations(self, user: Principal) -> list[Conversation]:
        """The customer's own conversations, newest first."""
        _require(user, "chat:use")
        with self.sessions() as session:
            rows = session.scalars(
                select(Conversation).where(Conversation.user_id == user.id)
                .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
            )
            return list(rows)


def _require(user: Principal, permission: str) -> None:
    if not user.can(permission):
        raise NotAllowed("You don't have permission to do that.")


def _check_id(conversation_id: object) -> int:
    if isinstance(conversation_id, bool) or not isinstance(conversation_id, int):
        raise ConversationNotFound(_NOT_FOUND)
    return conversation_id


def _owned(session: Session, user: Principal, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, _check_id(conversation_id))
    if conversation is None or conversation.user_id != user.id:
        raise ConversationNotFound(_NOT_FOUND)
    return conversation


def _owned_thread(session: Session, user: Principal, conversation_id: int) -> str:
    found = chat_store.conversation_owner_and_thread(session, _check_id(conversation_id))
    if found is None or found[0] != user.id:
        raise ConversationNotFound(_NOT_FOUND)
    return found[1]


def _title_from(text: str) -> str:
    first_line = text.splitlines()[0]
    return first_line if len(first_line) <= 60 else first_line[:57].rstrip() + "…"

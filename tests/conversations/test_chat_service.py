"""ChatService: persistence order, bad input, ownership, failures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.conversations.service import ChatService, ConversationNotFound, NotAllowed
from core.conversations.validation import InvalidMessage
from core.runtime import Runtime
from core.security.auth import Principal
from core.security.rate_limits import ChatRateLimiter, RateLimited
from core.storage.models import Feedback, Message, Turn


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    return Runtime.start(settings, rate_limit=False, engine=engine)


def count(runtime: Runtime, model) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_turn_is_stored_with_its_reply(runtime: Runtime) -> None:
    alice = runtime.local_user("alice")
    reply = runtime.chat.send(alice, None, "how do I freeze my card, I think it was stolen")
    assert reply.route == "answer" and reply.sources and reply.latency_ms > 0
    history = runtime.chat.transcript(alice, reply.conversation_id)
    assert [(m.role, m.answered) for m in history] == [("customer", True), ("assistant", True)]
    assert history[1].turn_id == reply.turn_id and history[1].sources == reply.sources
    with runtime.sessions() as session:
        turn = session.get(Turn, reply.turn_id)
        assert turn.intent == reply.intent and turn.route == "answer" and turn.status == "ok"


BAD_INPUTS = [
    ("", "type a message"),
    ("   \n\t ", "type a message"),
    ("x" * 2001, "limit is 2,000"),
    ("hello\x00world", "control characters"),
    ("bell\x07", "control characters"),
    ("broken \ud800 surrogate", "invalid characters"),
    (b"\xff\xfe\xfa", "invalid UTF-8"),
    (None, "must be text"),
]


@pytest.mark.parametrize(("text", "says"), BAD_INPUTS)
def test_bad_input_gets_a_clear_message_and_stores_nothing(runtime: Runtime, text, says) -> None:
    alice = runtime.local_user("alice")
    conversation = runtime.chat.start_conversation(alice)
    with pytest.raises(InvalidMessage, match=says):
        runtime.chat.send(alice, conversation, text)
    assert count(runtime, Message) == 0 and count(runtime, Turn) == 0


def test_limit_is_configurable(runtime: Runtime) -> None:
    runtime.chat.max_message_chars = 10
    with pytest.raises(InvalidMessage, match="limit is 10"):
        runtime.chat.send(runtime.local_user("alice"), None, "a bit more than ten")


def test_another_customers_conversation_is_refused(runtime: Runtime) -> None:
    alice, bob = runtime.local_user("alice"), runtime.local_user("bob")
    reply = runtime.chat.send(alice, None, "hello")
    for conversation_id in (reply.conversation_id, 99999, "1", True):
        with pytest.raises(ConversationNotFound):
            runtime.chat.send(bob, conversation_id, "show me that")
    with pytest.raises(ConversationNotFound):
        runtime.chat.transcript(bob, reply.conversation_id)
    assert [c.id for c in runtime.chat.conversations(bob)] == []
    assert count(runtime, Message) == 2


def test_a_role_without_chat_permission_is_refused(runtime: Runtime) -> None:
    with pytest.raises(NotAllowed):
        runtime.chat.send(Principal(1, "x", "nobody"), None, "hi")


class BrokenEngine:
    def __init__(self, error: BaseException):
        self.error = error

    def run_turn(self, thread_id, text, callbacks=None, metadata=None, on_token=None):
        raise self.error


def test_engine_failure_still_answers_and_stores_the_error(runtime: Runtime) -> None:
    runtime.chat.engine = BrokenEngine(RuntimeError("model file corrupt"))
    reply = runtime.chat.send(runtime.local_user("alice"), None, "where is my card")
    assert reply.route == "error" and reply.status == "error" and "person" in reply.text
    with runtime.sessions() as session:
        turn = session.get(Turn, reply.turn_id)
        assert turn.status == "error" and "model file corrupt" in turn.error


def test_a_crash_mid_turn_leaves_the_question_on_record(runtime: Runtime) -> None:
    runtime.chat.engine = BrokenEngine(SystemExit("process killed"))
    alice = runtime.local_user("alice")
    with pytest.raises(SystemExit):
        runtime.chat.send(alice, None, "my transfer has not arrived")
    conversation = runtime.chat.conversations(alice)[0]
    history = runtime.chat.transcript(alice, conversation.id)
    assert [(m.text, m.answered) for m in history] == [("my transfer has not arrived", False)]


def test_chat_rate_limit(runtime: Runtime) -> None:
    runtime.chat.limiter = ChatRateLimiter("2/minute")
    alice = runtime.local_user("alice")
    runtime.chat.send(alice, None, "hi")
    runtime.chat.send(alice, None, "hi")
    with pytest.raises(RateLimited, match="wait a moment"):
        runtime.chat.send(alice, None, "hi")
    runtime.chat.send(runtime.local_user("bob"), None, "hi")  # others are not affected


def test_service_is_usable_without_runtime(engine, runtime: Runtime) -> None:
    service = ChatService(engine, runtime.sessions)
    assert service.send(runtime.local_user("carol"), None, "thank you").route == "smalltalk"


def test_feedback_is_stored_once_per_reply_and_only_by_its_owner(runtime: Runtime) -> None:
    alice, bob = runtime.local_user("alice"), runtime.local_user("bob")
    reply = runtime.chat.send(alice, None, "how do I change my PIN")
    runtime.chat.give_feedback(alice, reply.turn_id, 1)
    runtime.chat.give_feedback(alice, reply.turn_id, 0)  # a change of mind replaces it
    with pytest.raises(ConversationNotFound):
        runtime.chat.give_feedback(bob, reply.turn_id, 1)
    with pytest.raises(ValueError):
        runtime.chat.give_feedback(alice, reply.turn_id, 5)
    assert [e.feedback for e in runtime.chat.transcript(alice, reply.conversation_id)] == [None, 0]
    assert count(runtime, Feedback) == 1


def test_handoff_request_is_recorded_for_the_owner_only(runtime: Runtime) -> None:
    alice, bob = runtime.local_user("alice"), runtime.local_user("bob")
    conversation = runtime.chat.start_conversation(alice)
    with pytest.raises(ConversationNotFound):
        runtime.chat.request_handoff(bob, conversation)
    runtime.chat.request_handoff(alice, conversation)
    assert runtime.chat.conversations(alice)[0].handoff_requested_at is not None


CRASH_MID_TURN = """
import os, sys
from core.config import Settings
from core.runtime import Runtime
runtime = Runtime.start(Settings(state_dir=sys.argv[1], model_dir=sys.argv[2], database_url=sys.argv[3] or None))
def die(*args, **kwargs):
    os._exit(9)  # the process dies mid-turn: no cleanup, no except blocks
runtime.chat.engine.run_turn = die
runtime.chat.send(runtime.local_user("alice"), None, "my transfer has not arrived")
"""


def test_after_a_real_crash_mid_turn_the_message_is_shown_and_can_be_answered(
        settings, engine) -> None:
    import subprocess
    import sys

    from core.config import PROJECT_DIR

    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_MID_TURN, str(settings.state_dir), str(settings.model_dir),
         settings.database_url or ""], cwd=PROJECT_DIR, capture_output=True, timeout=300,
        check=False)
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    restarted = Runtime.start(settings, engine=engine)
    alice = restarted.local_user("alice")
    conversation = restarted.chat.conversations(alice)[0]
    history = restarted.chat.transcript(alice, conversation.id)
    assert [(m.text, m.answered) for m in history] == [("my transfer has not arrived", False)]
    with pytest.raises(ConversationNotFound):
        restarted.chat.answer_pending(restarted.local_user("mallory"), conversation.id)
    reply = restarted.chat.answer_pending(alice, conversation.id)
    assert reply is not None and reply.status == "ok" and reply.text
    history = restarted.chat.transcript(alice, conversation.id)
    assert [m.role for m in history] == ["customer", "assistant"] and history[0].answered
    assert restarted.chat.answer_pending(alice, conversation.id) is None


def test_answer_it_now_counts_as_a_turn_against_the_chat_limit(runtime: Runtime) -> None:
    runtime.chat.limiter = ChatRateLimiter("2/minute")
    alice = runtime.local_user("alice")
    conversation = runtime.chat.start_conversation(alice)
    for text in ("my card is lost", "my transfer is late", "how do I top up"):
        runtime.chat._store_question(alice, conversation, text)  # left unanswered, as by a crash
    assert runtime.chat.answer_pending(alice, conversation) is not None
    assert runtime.chat.answer_pending(alice, conversation) is not None
    with pytest.raises(RateLimited, match="wait a moment"):
        runtime.chat.answer_pending(alice, conversation)
    assert count(runtime, Turn) == 2  # the refused one ran no workflow


def test_new_conversations_are_rate_limited_per_user(runtime: Runtime) -> None:
    runtime.chat.limiter = ChatRateLimiter("30/minute", conversations="3/minute")
    alice = runtime.local_user("alice")
    for _ in range(3):
        runtime.chat.start_conversation(alice)
    with pytest.raises(RateLimited, match="starting conversations very quickly"):
        runtime.chat.start_conversation(alice)
    with pytest.raises(RateLimited):  # a first message starts one too
        runtime.chat.send(alice, None, "hello")
    assert len(runtime.chat.conversations(alice)) == 3
    runtime.chat.start_conversation(runtime.local_user("bob"))  # others are not affected


def test_talk_to_a_person_is_rate_limited_per_user(runtime: Runtime) -> None:
    runtime.chat.limiter = ChatRateLimiter("30/minute", handoffs="2 per 10 minutes")
    alice = runtime.local_user("alice")
    conversation = runtime.chat.start_conversation(alice)
    runtime.chat.request_handoff(alice, conversation)
    runtime.chat.request_handoff(alice, conversation)
    with pytest.raises(RateLimited, match="already asked our team"):
        runtime.chat.request_handoff(alice, conversation)
    bob = runtime.local_user("bob")
    runtime.chat.request_handoff(bob, runtime.chat.start_conversation(bob))

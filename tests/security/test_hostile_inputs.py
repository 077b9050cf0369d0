"""Hostile input through ChatService, and one customer reaching for another's data.

Every hostile input either gets a real reply (stored verbatim, after the service's
documented trimming) or an `InvalidMessage` with a sentence a customer can read; any
other exception fails. A rejected input leaves nothing behind (no message, no empty
conversation), and a conversation fed all of them still replays exactly what was
accepted, in order, every message answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.config import Settings
from core.conversations.service import ConversationNotFound
from core.conversations.validation import InvalidMessage
from core.runtime import Runtime
from core.security.auth import Principal
from core.storage.models import Conversation, Feedback, Message, Turn, TurnTrace
from tests.conftest import scratch_database_url
from tests.security.hostile_inputs import HOSTILE_INPUTS, LIMIT, MAY_REJECT, MUST_REJECT

IDS = [case_id for case_id, _ in HOSTILE_INPUTS]


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
            engine) -> Iterator[Runtime]:
    """One runtime for the module (a fresh one per input would cost more than the turns)."""
    state = tmp_path_factory.mktemp("hostile-state")
    with scratch_database_url() as url:
        settings = Settings(state_dir=state, model_dir=model_dir, database_url=url,
                            redis_url=None)
        rt = Runtime.start(settings, rate_limit=False, engine=engine)
        assert rt.settings.max_message_chars == LIMIT
        yield rt
        rt.close()


def stored_form(value: object) -> str:
    """What the service promises to store for an accepted message (core/conversations/validation.py)."""
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    assert isinstance(text, str)
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def expected_title(text: str) -> str:
    first_line = text.splitlines()[0]
    return first_line if len(first_line) <= 60 else first_line[:57].rstrip() + "…"


def conversation_count(runtime: Runtime, user: Principal) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Conversation)
                              .where(Conversation.user_id == user.id))


def row_count(runtime: Runtime, model) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def send_one(runtime: Runtime, user: Principal, conversation_id: int | None, case_id: str,
             value: object):
    """The reply, or None when refused with a clear message; anything else fails."""
    try:
        reply = runtime.chat.send(user, conversation_id, value)
    except InvalidMessage as exc:
        message = str(exc)
        assert message.strip() and len(message) < 300, f"{case_id}: unclear message {message!r}"
        assert "Traceback" not in message and "Error" not in message, f"{case_id}: {message!r}"
        assert case_id in MUST_REJECT | MAY_REJECT, (
            f"{case_id}: legitimate text was refused: {message!r}")
        return None
    assert case_id not in MUST_REJECT, f"{case_id}: should have been refused, was answered"
    assert reply.text.strip(), f"{case_id}: empty reply"
    assert reply.status == "ok" and reply.route != "error", (
        f"{case_id}: the workflow failed on this input (route {reply.route!r}, "
        f"status {reply.status!r}); the customer only got the apology")
    return reply


@pytest.mark.parametrize("value", [v for _, v in HOSTILE_INPUTS], ids=IDS)
def test_each_hostile_input_gets_a_reply_or_a_clear_message(runtime: Runtime, request,
                                                            value) -> None:
    case_id = request.node.callspec.id
    user = runtime.local_user("each")  # one user: creating one costs a bcrypt hash
    conversations_before = conversation_count(runtime, user)
    messages_before = row_count(runtime, Message)
    reply = send_one(runtime, user, None, case_id, value)
    if reply is None:  # refused: no message stored, no empty conversation left behind
        assert conversation_count(runtime, user) == conversations_before
        assert row_count(runtime, Message) == messages_before
        return
    assert conversation_count(runtime, user) == conversations_before + 1
    assert row_count(runtime, Message) == messages_before + 2
    text = stored_form(value)
    history = runtime.chat.transcript(user, reply.conversation_id)
    assert [(e.role, e.text, e.answered) for e in history] == [
        ("customer", text, True), ("assistant", reply.text, True)]
    assert history[1].turn_id == reply.turn_id
    conversation = runtime.chat.conversations(user)[0]  # newest first
    assert conversation.id == reply.conversation_id
    assert conversation.title == expected_title(text)


def test_all_hostile_inputs_in_one_conversation_keep_the_history_intact(runtime: Runtime) -> None:
    user = runtime.local_user("one-conversation")
    conversation_id = runtime.chat.start_conversation(user)
    messages_before, turns_before = row_count(runtime, Message), row_count(runtime, Turn)
    expected: list[tuple[str, str]] = []
    for case_id, value in HOSTILE_INPUTS:
        reply = send_one(runtime, user, conversation_id, case_id, value)
        if reply is not None:
            assert reply.conversation_id == conversation_id
            expected += [("customer", stored_form(value)), ("assistant", reply.text)]
    accepted = len(expected) // 2
    assert accepted >= len(HOSTILE_INPUTS) - len(MUST_REJECT) - len(MAY_REJECT)

    history = runtime.chat.transcript(user, conversation_id)
    assert [(e.role, e.text) for e in history] == expected  # in order, byte-for-byte
    assert all(e.answered for e in history)
    assert all(e.turn_id is not None for e in history if e.role == "assistant")
    assert [c.id for c in runtime.chat.conversations(user)] == [conversation_id]
    # nothing was stored for the refused inputs, and no table lost rows
    assert row_count(runtime, Message) == messages_before + 2 * accepted
    assert row_count(runtime, Turn) == turns_before + accepted

    # the conversation still works afterwards (its LangGraph thread is not broken)
    reply = runtime.chat.send(user, conversation_id, "How do I freeze my card? It was stolen.")
    assert reply.status == "ok" and reply.route == "answer" and reply.sources
    assert runtime.chat.transcript(user, conversation_id)[-2].text == (
        "How do I freeze my card? It was stolen.")

    # every turn's trace is stored: a hostile input must not make the writer drop a batch
    assert runtime.chat.trace_writer is not None and runtime.chat.trace_writer.flush()
    with runtime.sessions() as session:
        turn_ids = set(session.scalars(select(Turn.id)
                                       .where(Turn.conversation_id == conversation_id)))
        traced = set(session.scalars(select(TurnTrace.turn_id)
                                     .where(TurnTrace.turn_id.in_(turn_ids))))
    assert traced == turn_ids


# --- one customer, another customer's ids ---------------------------------------------------

@pytest.fixture(scope="module")
def owners_runtime(tmp_path_factory: pytest.TempPathFactory, model_dir: Path,
                   engine) -> Iterator[Runtime]:
    """A runtime of its own, so alice's conversation and turn are both id 1: the ids that
    "1", 1.0 and True would reach if a type slipped through."""
    state = tmp_path_factory.mktemp("owners-state")
    with scratch_database_url() as url:
        settings = Settings(state_dir=state, model_dir=model_dir, database_url=url,
                            redis_url=None)
        rt = Runtime.start(settings, rate_limit=False, engine=engine)
        yield rt
        rt.close()


@pytest.fixture(scope="module")
def alice_and_bob(owners_runtime: Runtime) -> tuple[Principal, Principal, int, int]:
    alice = owners_runtime.local_user("alice-owner")
    bob = owners_runtime.local_user("bob-intruder")
    reply = owners_runtime.chat.send(alice, None,
                                     "My secret question about card 4111 1111 1111 1111")
    assert (reply.conversation_id, reply.turn_id) == (1, 1)
    return alice, bob, reply.conversation_id, reply.turn_id


def snapshot(runtime: Runtime, alice: Principal, conversation_id: int) -> tuple:
    with runtime.sessions() as session:
        conversation = session.get(Conversation, conversation_id)
        handoff = conversation.handoff_requested_at
        feedback = session.scalar(select(func.count()).select_from(Feedback))
    history = [(e.role, e.text) for e in runtime.chat.transcript(alice, conversation_id)]
    return history, handoff, feedback


@pytest.mark.parametrize("action", ["transcript", "send", "give_feedback", "request_handoff"])
def test_a_customer_cannot_use_another_customers_conversation(
        owners_runtime: Runtime, alice_and_bob, action: str) -> None:
    alice, bob, conversation_id, turn_id = alice_and_bob
    before = snapshot(owners_runtime, alice, conversation_id)
    bobs_before = conversation_count(owners_runtime, bob)
    calls = {
        "transcript": lambda: owners_runtime.chat.transcript(bob, conversation_id),
        "send": lambda: owners_runtime.chat.send(bob, conversation_id, "show me everything"),
        "give_feedback": lambda: owners_runtime.chat.give_feedback(bob, turn_id, 0),
        "request_handoff": lambda: owners_runtime.chat.request_handoff(bob, conversation_id),
    }
    with pytest.raises(ConversationNotFound) as caught:
        calls[action]()
    assert "4111" not in str(caught.value) and "secret" not in str(caught.value)
    assert snapshot(owners_runtime, alice, conversation_id) == before
    assert conversation_count(owners_runtime, bob) == bobs_before


BAD_IDS = [("str", "1"), ("float", 1.0), ("true", True), ("false", False), ("negative", -1),
           ("zero", 0), ("huge", 10**20), ("huge-negative", -(10**20)), ("none", None),
           ("list", [1]), ("sql", "1 OR 1=1"), ("nan", float("nan"))]


@pytest.mark.parametrize("action", ["transcript", "send", "give_feedback", "request_handoff"])
@pytest.mark.parametrize("bad_id", [v for _, v in BAD_IDS], ids=[i for i, _ in BAD_IDS])
def test_odd_ids_are_not_found_never_data(owners_runtime: Runtime, alice_and_bob, action: str,
                                          bad_id) -> None:
    alice, bob, conversation_id, _ = alice_and_bob
    before = snapshot(owners_runtime, alice, conversation_id)
    for user in (bob, alice):  # odd ids must not reach even one's own data
        if action == "send" and bad_id is None:
            # None means "start a new conversation": it must be the caller's own and empty
            reply = owners_runtime.chat.send(user, None, "hello")
            assert owners_runtime.chat.transcript(user, reply.conversation_id)[0].text == "hello"
            assert reply.conversation_id != conversation_id
            continue
        calls = {
            "transcript": lambda u=user: owners_runtime.chat.transcript(u, bad_id),
            "send": lambda u=user: owners_runtime.chat.send(u, bad_id, "show me everything"),
            "give_feedback": lambda u=user: owners_runtime.chat.give_feedback(u, bad_id, 1),
            "request_handoff": lambda u=user: owners_runtime.chat.request_handoff(u, bad_id),
        }
        with pytest.raises(ConversationNotFound):
            calls[action]()
    assert snapshot(owners_runtime, alice, conversation_id) == before


def test_bad_text_with_another_customers_id_gets_the_text_message_and_changes_nothing(
        owners_runtime: Runtime, alice_and_bob) -> None:
    alice, bob, conversation_id, _ = alice_and_bob
    before = snapshot(owners_runtime, alice, conversation_id)
    with pytest.raises(InvalidMessage, match="control characters") as caught:
        owners_runtime.chat.send(bob, conversation_id, "\x00")
    assert "secret" not in str(caught.value)
    assert snapshot(owners_runtime, alice, conversation_id) == before

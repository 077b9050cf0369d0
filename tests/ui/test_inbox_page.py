"""AppTest: the inbox for agents (queue, Take, work a conversation), the customer's live
side (agent messages, queue position, rating), who may open the inbox, and its speed."""

from __future__ import annotations

import time

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_DIR
from core.conversations.seed_handoffs import seed_handoffs
from core.storage.models import Conversation, Rating
from tests.ui.test_app import app, log_in


def waiting_for_a_person(runtime) -> tuple:
    alice = runtime.accounts.authenticate("alice", "harbour-lantern-quietly-7")
    reply = runtime.chat.send(alice, None, "can I speak with a real person")
    return alice, reply.conversation_id


def inbox(username: str = "max") -> AppTest:
    at = log_in(app(), username)
    return at.switch_page("pages/inbox.py").run()


def test_an_agent_takes_a_waiting_conversation_and_replies(runtime) -> None:
    alice, conversation = waiting_for_a_person(runtime)
    at = inbox()
    assert not at.exception and at.title[0].value == "Inbox"
    assert "can I speak with a real person" in " ".join(t.value for t in at.text)
    next(b for b in at.button if b.label == "Take").click()
    at.run()
    assert not at.exception
    assert at.session_state["inbox_open"] == conversation
    with runtime.sessions() as session:
        held = session.get(Conversation, conversation)
        assert held.status == "open" and held.assignee_id == at.session_state["principal"].id
    assert "Max joined the conversation" in [c.value for c in at.caption]
    at.chat_input[0].set_value("Hello Alice, *Max* here <b>hi</b>").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "Hello Alice, *Max* here <b>hi</b>" in texts  # literal, never Markdown or HTML
    seen = runtime.chat.transcript(alice, conversation)
    assert (seen[-1].role, seen[-1].sender) == ("agent", "max")


def test_the_customer_sees_the_agent_and_rates_after_resolve(runtime) -> None:
    _, conversation = waiting_for_a_person(runtime)
    at = log_in(app(), "alice")
    at.session_state["conversation_id"] = conversation
    at.run()
    assert not at.exception
    assert any("waiting for a person" in i.value and "You're next." in i.value for i in at.info)
    max_ = runtime.accounts.authenticate("max", "harbour-lantern-quietly-7")
    runtime.handoff.take(max_, conversation)
    runtime.handoff.reply(max_, conversation, "Hi, I'm Max")
    at.run()
    assert "Max joined the conversation" in [c.value for c in at.caption]
    assert "Hi, I'm Max" in [t.value for t in at.text]
    runtime.handoff.resolve(max_, conversation)
    at.run()
    assert not at.exception
    at.feedback(key=f"rating-{conversation}").set_value(4).run()  # five stars
    assert not at.exception
    with runtime.sessions() as session:
        rating = session.scalar(select(Rating))
        assert (rating.score, rating.agent_id) == (5, max_.id)


def test_customers_never_reach_the_inbox(runtime) -> None:
    at = inbox("alice")
    assert not at.exception
    assert [e.value for e in at.error] == ["You're not allowed to see this page."]
    unauthenticated = AppTest.from_file(str(PROJECT_DIR / "pages/inbox.py"), default_timeout=30).run()
    assert [i.value for i in unauthenticated.info] == ["Please log in to continue."]


def test_a_revoked_agent_cannot_take(runtime) -> None:
    _, conversation = waiting_for_a_person(runtime)
    at = inbox()
    from core.security.user_admin import CLI_ADMIN

    runtime.users.set_active(CLI_ADMIN, "max", False)
    next(b for b in at.button if b.label == "Take").click()
    at.run()
    assert not at.exception
    with runtime.sessions() as session:
        assert session.get(Conversation, conversation).status == "waiting"
    assert "principal" not in at.session_state  # logged out: the inbox is gone


def test_the_inbox_renders_within_a_second_with_1000_waiting(runtime) -> None:
    seed_handoffs(runtime.sessions, 1000)
    at = inbox()
    assert not at.exception
    started = time.perf_counter()
    at.run()
    took = time.perf_counter() - started
    print(f"inbox render with 1,000 waiting: {took * 1000:.0f} ms")
    assert "1000 conversations" in " ".join(c.value for c in at.caption)
    assert took < 2.0  # generous on a shared machine; the README figure is the measurement

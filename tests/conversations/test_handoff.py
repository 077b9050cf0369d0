"""The hand-off to a person: one agent wins a conversation (threads and processes on
PostgreSQL), who may do what, the bot's silence while a person holds it, agent hours,
the queue position, ratings, audit and deletion."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from core.config import Settings
from core.conversations.agent_hours import AgentHours
from core.conversations.handoff import HandoffConflict, HandoffService
from core.conversations.service import NotAllowed
from core.conversations.validation import InvalidMessage
from core.runtime import Runtime, open_database
from core.security.auth import Principal, add_user, principal_of
from core.storage.database import make_sessions
from core.storage.models import AuditEvent, Message, Rating, Turn

PASSWORD = "harbour-lantern-quietly-7"


def people(runtime: Runtime) -> dict[str, Principal]:
    with runtime.sessions.begin() as session:
        return {name: principal_of(add_user(session, name, PASSWORD, role)) for name, role in (
            ("alice", "customer"), ("bob", "customer"), ("max", "agent"), ("mia", "agent"),
            ("sam", "supervisor"))}


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    rt = Runtime.start(settings, rate_limit=False, engine=engine)
    yield rt
    rt.close()


def waiting_conversation(runtime: Runtime, customer: Principal) -> int:
    reply = runtime.chat.send(customer, None, "can I speak with a real person")
    assert reply.route == "handoff"
    return reply.conversation_id


def count(runtime: Runtime, model, *where) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_the_bot_is_silent_while_a_person_holds_it_and_answers_after_hand_back(runtime) -> None:
    who = people(runtime)
    alice, max_ = who["alice"], who["max"]
    conversation = waiting_conversation(runtime, alice)
    assert runtime.waiting.status(alice, conversation).status == "waiting"
    turns = count(runtime, Turn)
    waiting = runtime.chat.send(alice, conversation, "is anyone there?")
    assert waiting.for_person and waiting.text == "" and count(runtime, Turn) == turns

    runtime.handoff.take(max_, conversation)
    runtime.handoff.reply(max_, conversation, "Hi, I'm Max. How can I help?")
    held = runtime.chat.send(alice, conversation, "my card is blocked")
    assert held.for_person and count(runtime, Turn) == turns
    streamed = runtime.chat.stream(alice, conversation, "still blocked")
    assert streamed.for_person and list(streamed) == [""]  # known at once, nothing written
    transcript = runtime.chat.transcript(alice, conversation)
    assert [(e.role, e.text) for e in transcript[-5:]] == [
        ("customer", "is anyone there?"), ("event", "Max joined the conversation"),
        ("agent", "Hi, I'm Max. How can I help?"), ("customer", "my card is blocked"),
        ("customer", "still blocked")]
    assert transcript[-3].sender == "max" and all(e.answered for e in transcript)
    assert runtime.chat.answer_pending(alice, conversation) is None  # nothing left for the bot
    _, seen_by_agent = runtime.inbox.conversation(max_, conversation)
    assert seen_by_agent[-1].text == "still blocked"

    runtime.handoff.hand_back(max_, conversation)
    back = runtime.chat.stream(alice, conversation, "how do I freeze my card")
    assert not back.for_person and "".join(back) and back.reply.text and count(runtime, Turn) == turns + 1


def test_the_bot_answers_again_after_resolve_and_the_customer_rates(runtime) -> None:
    who = people(runtime)
    alice, max_ = who["alice"], who["max"]
    conversation = waiting_conversation(runtime, alice)
    with pytest.raises(InvalidMessage, match="once an agent has resolved"):
        runtime.waiting.rate(alice, conversation, 5)
    runtime.handoff.take(max_, conversation)
    runtime.handoff.resolve(max_, conversation)
    status = runtime.waiting.status(alice, conversation)
    assert status.status == "resolved" and status.can_rate and status.agent == "max"
    runtime.waiting.rate(alice, conversation, 4, "quick and kind, thanks")
    runtime.waiting.rate(alice, conversation, 5)  # a second rating replaces the score
    with runtime.sessions() as session:
        rating = session.scalar(select(Rating))
        assert (rating.score, rating.agent_id, rating.comment) == (5, max_.id,
                                                                   "quick and kind, thanks")
    assert runtime.waiting.status(alice, conversation).rating == 5
    with pytest.raises(InvalidMessage, match="1 to 5"):
        runtime.waiting.rate(alice, conversation, 6)
    with pytest.raises(LookupError):
        runtime.waiting.rate(who["bob"], conversation, 1)
    assert not runtime.chat.send(alice, conversation, "how do I freeze my card").for_person


def test_who_may_do_what(runtime) -> None:
    who = people(runtime)
    alice, max_, mia, sam = who["alice"], who["max"], who["mia"], who["sam"]
    conversation = waiting_conversation(runtime, alice)
    for action in (runtime.handoff.take, runtime.inbox.conversation):
        with pytest.raises(NotAllowed):
            action(alice, conversation)  # a customer never reaches the inbox
    with pytest.raises(NotAllowed):
        runtime.inbox.queue(alice)
    with pytest.raises(HandoffConflict, match="take it first"):
        runtime.handoff.reply(max_, conversation, "hello")  # not held yet
    runtime.handoff.take(max_, conversation)
    with pytest.raises(HandoffConflict, match="took this conversation first"):
        runtime.handoff.take(mia, conversation)
    for action in (runtime.handoff.release, runtime.handoff.resolve, runtime.handoff.hand_back):
        with pytest.raises(HandoffConflict, match="Another agent holds"):
            action(mia, conversation)  # another agent's conversation
    with pytest.raises(HandoffConflict):
        runtime.handoff.reply(mia, conversation, "let me help")
    with pytest.raises(NotAllowed):
        runtime.inbox.conversation(mia, conversation)
    with runtime.sessions() as session:
        turn = session.scalar(select(Turn.id).where(Turn.conversation_id == conversation))
    assert runtime.monitoring.trace(max_, turn).row.intent == "human_agent"  # the holder reads it
    with pytest.raises(NotAllowed):
        runtime.monitoring.trace(mia, turn)
    with pytest.raises(NotAllowed):
        runtime.handoff.note(mia, conversation, "I know this customer")
    assert runtime.inbox.queue(mia, "open").total == 0
    # A supervisor can do all an agent can, in anyone's conversation.
    runtime.handoff.note(sam, conversation, "VIP customer, be quick")
    runtime.handoff.reply(sam, conversation, "Sam here, a supervisor")
    runtime.handoff.transfer(sam, conversation, "mia")
    assert runtime.inbox.queue(mia, "mine").rows[0].conversation_id == conversation
    with pytest.raises(HandoffConflict, match="not an active agent"):
        runtime.handoff.transfer(mia, conversation, "alice")
    runtime.handoff.release(mia, conversation)
    assert runtime.inbox.queue(max_).rows[0].status == "waiting"
    notes = [e for e in runtime.chat.transcript(alice, conversation) if "VIP" in e.text]
    assert notes == []  # the customer never sees private notes


def test_the_queue_oldest_first_with_the_bots_summary_and_who_is_ahead(runtime) -> None:
    who = people(runtime)
    first = waiting_conversation(runtime, who["alice"])
    second = waiting_conversation(runtime, who["bob"])
    page = runtime.inbox.queue(who["max"])
    assert [r.conversation_id for r in page.rows] == [first, second] and page.total == 2
    row = page.rows[0]
    assert row.customer == "alice" and row.intent == "human_agent"
    assert row.tried == "offered a person 1x"
    assert row.last_messages[0] == ("customer", "can I speak with a real person")
    assert row.waited_s() >= 0
    assert runtime.waiting.status(who["alice"], first).ahead == 0
    assert runtime.waiting.status(who["bob"], second).ahead == 1
    runtime.handoff.take(who["max"], first)
    assert runtime.waiting.status(who["bob"], second).ahead == 0
    assert runtime.waiting.status(who["alice"], first).agent == "max"


def test_agent_text_is_encrypted_audited_and_deleted_with_the_customers_data(runtime,
                                                                            settings) -> None:
    who = people(runtime)
    alice, max_ = who["alice"], who["max"]
    conversation = waiting_conversation(runtime, alice)
    runtime.handoff.take(max_, conversation)
    runtime.handoff.reply(max_, conversation, "your quokka card is on its way")
    runtime.handoff.note(max_, conversation, "customer mentioned quokka street")
    runtime.handoff.resolve(max_, conversation)
    runtime.waiting.rate(alice, conversation, 3, "the quokka was slow")
    raw = create_engine(settings.sqlalchemy_url)
    with raw.connect() as connection:
        stored = [*connection.execute(text("select body from messages")).scalars(),
                  *connection.execute(text("select comment from ratings")).scalars()]
    raw.dispose()
    assert len(stored) >= 5 and not any("quokka" in v for v in stored)
    with runtime.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"conversation_take", "conversation_resolve"} <= actions
    exported = [m["text"] for c in runtime.privacy.export(alice)["conversations"]
                for m in c["messages"]]
    assert "your quokka card is on its way" in exported  # the customer's own data ...
    assert not any("street" in t for t in exported)  # ... without agents' private notes
    assert runtime.privacy.delete_mine(alice) == 1
    assert count(runtime, Message) == 0 and count(runtime, Rating) == 0


def test_agent_hours() -> None:
    hours = AgentHours.parse("08:00-22:00", "Europe/London")
    summer_9am = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    assert hours.is_open(summer_9am)
    assert not hours.is_open(datetime(2026, 7, 1, 6, 30, tzinfo=UTC))  # 07:30 BST
    late = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 22:30 GMT
    assert not hours.is_open(late)
    assert hours.next_opening(late).hour == 8 and "back at 08:00 tomorrow" in hours.back_at(late)
    assert "back at 08:00 today" in hours.back_at(datetime(2026, 12, 3, 5, 0, tzinfo=UTC))
    overnight = AgentHours.parse("22:00-06:00", "UTC")
    assert overnight.is_open(datetime(2026, 12, 3, 23, 0)) and not overnight.is_open(
        datetime(2026, 12, 3, 12, 0))
    with pytest.raises(ValueError, match="08:00-22:00"):
        AgentHours.parse("8 to 10", "Mars/Olympus")


def test_outside_hours_the_bot_says_when_agents_are_back_and_keeps_the_request(runtime) -> None:
    who = people(runtime)
    now = datetime.now(UTC)
    opens = (now + timedelta(hours=2)).strftime("%H:%M")
    closes = (now + timedelta(hours=3)).strftime("%H:%M")
    runtime.chat.hours = runtime.waiting.hours = AgentHours.parse(f"{opens}-{closes}", "UTC")
    reply = runtime.chat.send(who["alice"], None, "can I speak with a real person")
    assert f"back at {opens}" in reply.text
    assert "08:00 to 22:00" not in reply.text  # the deployment's own hours, not the demo's
    status = runtime.waiting.status(who["alice"], reply.conversation_id)
    assert status.status == "waiting" and not status.agents_in and opens in status.back_at
    assert runtime.inbox.queue(who["max"]).total == 1


def _take_in_threads(handoff: HandoffService, agents: list[Principal], conversation: int) -> list:
    barrier = threading.Barrier(len(agents))
    outcomes: list[str] = []

    def take(agent: Principal) -> None:
        barrier.wait()
        try:
            handoff.take(agent, conversation)
            outcomes.append(agent.username)
        except HandoffConflict:
            outcomes.append("lost")

    threads = [threading.Thread(target=take, args=(a,)) for a in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.fixture
def pg_runtime(postgres_url, tmp_path, model_dir, engine) -> Runtime:
    rt = Runtime.start(Settings(state_dir=tmp_path / "state", model_dir=model_dir,
                                database_url=postgres_url, redis_url=None),
                       rate_limit=False, engine=engine)
    yield rt
    rt.close()


def test_two_threads_on_postgresql_take_the_same_conversation_one_wins(pg_runtime) -> None:
    who = people(pg_runtime)
    for _ in range(5):
        conversation = waiting_conversation(pg_runtime, who["alice"])
        outcomes = _take_in_threads(pg_runtime.handoff, [who["max"], who["mia"]], conversation)
        assert len(outcomes) == 2 and outcomes.count("lost") == 1
        joined = count(pg_runtime, Message, Message.conversation_id == conversation,
                       Message.role == "event")
        assert joined == 1


def _take_in_process(state_dir, url, agent, conversation, barrier, results) -> None:
    settings = Settings(state_dir=state_dir, database_url=url, redis_url=None)
    handoff = HandoffService(make_sessions(open_database(settings)))
    barrier.wait()
    try:
        handoff.take(agent, conversation)
        results.put(agent.username)
    except HandoffConflict:
        results.put("lost")


def test_two_processes_on_postgresql_take_the_same_conversation_one_wins(pg_runtime) -> None:
    who = people(pg_runtime)
    settings = pg_runtime.settings
    context = multiprocessing.get_context("spawn")
    for _ in range(3):
        conversation = waiting_conversation(pg_runtime, who["alice"])
        barrier, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=_take_in_process, args=(
            settings.state_dir, settings.database_url, agent, conversation, barrier, results))
            for agent in (who["max"], who["mia"])]
        for process in processes:
            process.start()
        outcomes = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        assert len(outcomes) == 2 and outcomes.count("lost") == 1
        holder = pg_runtime.inbox.queue(who["sam"], "open").rows[0].assignee
        assert holder in outcomes

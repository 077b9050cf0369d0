"""Redis shared by replicas, and Redis going away: a `redis-server` of the test's own on a
free port, stopped and restarted mid-run, so nothing else is disturbed."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from langgraph.checkpoint.memory import InMemorySaver

from core.engine.answer_cache import SharedAnswerCache
from core.engine.engine import Engine
from core.engine.workflow import Agents, compile_workflow
from core.events import CHANNEL, EventBus
from core.monitoring.monitor import Monitor
from core.monitoring.rules import RULES_BY_NAME
from core.redis_link import RedisLink
from core.runtime import Runtime
from core.security.auth import add_user, principal_of
from core.security.user_admin import CLI_ADMIN
from core.storage.encryption import keyring_of
from core.storage.sealed_serde import encrypting_serializer
from tests.support import free_port, unavailable, wait_until


class OwnRedis:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is missing")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def _quiet(monitor: Monitor) -> Monitor:
    """Only the rule under test may fire (host readings depend on the machine)."""
    monitor.sampler.sample = lambda: {"cpu_percent": 1.0, "memory_percent": 1.0,  # type: ignore[method-assign]
                                      "disk_percent": 1.0, "process_rss_mb": 1.0}
    return monitor


def test_chats_survive_redis_stopping_an_alert_fires_and_redis_is_used_again(
        own_redis, settings, engine) -> None:
    runtime = Runtime.start(settings.model_copy(update={"redis_url": own_redis.url,
                                                         "chat_rate_limit": "1000/minute"}),
                            engine=engine)
    runtime.redis.retry_s = 0.2
    with runtime.sessions.begin() as session:
        alice = principal_of(add_user(session, "alice", "harbour-lantern-quietly-7"))
    monitor = _quiet(Monitor(runtime.sessions, disk_path=settings.state_dir, consecutive=2,
                             link=runtime.redis, events=runtime.events))
    conversation = None
    sent = 0
    for phase in ("up", "down", "back"):
        if phase == "down":
            own_redis.stop()
        elif phase == "back":
            own_redis.start()
            wait_until(lambda: runtime.redis.up, what="the link using Redis again")
        for _ in range(5):
            reply = runtime.chat.send(alice, conversation, "How do I top up my account?")
            conversation = reply.conversation_id
            sent += 1
            assert reply.status == "ok" and reply.text
        fired = [e for _ in range(2) for e in monitor.tick()]
        if phase == "down":
            assert ("firing", "redis_down") in {(e, a.rule) for e, a in fired}
            assert runtime.redis.failures >= 1
    assert runtime.redis.up
    assert "redis_down" not in {a.rule for a in runtime.monitoring.open_alerts(CLI_ADMIN)}  # resolved
    entries = runtime.chat.transcript(alice, conversation)
    assert sum(e.role == "customer" for e in entries) == sent
    assert all(e.answered for e in entries)
    client = redis.Redis.from_url(own_redis.url)  # limits are counted in Redis again
    assert any(b"chat" in key for key in client.keys("*"))


def test_an_alert_fires_once_across_two_replicas(own_redis, settings, engine) -> None:
    runtime = Runtime.start(settings, engine=engine)
    link_a, link_b = RedisLink(own_redis.url), RedisLink(own_redis.url)
    replicas = [_quiet(Monitor(runtime.sessions, disk_path=settings.state_dir, consecutive=1,
                               link=link, events=EventBus(link))) for link in (link_a, link_b)]
    runtime.monitoring.set_threshold(CLI_ADMIN, "disk_high", 0)
    events = [e for _ in range(3) for m in replicas for e in m.tick()]
    assert [(e, a.rule) for e, a in events] == [("firing", "disk_high")]
    assert sum(m.is_leader() for m in replicas) == 1
    assert RULES_BY_NAME["disk_high"].severity == "critical"


def test_events_reach_every_replica(own_redis) -> None:
    first, second = EventBus(RedisLink(own_redis.url)), EventBus(RedisLink(own_redis.url))
    second.listen()
    watcher = redis.Redis.from_url(own_redis.url)
    wait_until(lambda: dict(watcher.pubsub_numsub(CHANNEL)).get(CHANNEL.encode()) == 1,
               what="the second replica subscribing")
    started = time.time() - 1
    first.publish("handoff_requested", "A customer asked for a person", conversation_id=7)
    wait_until(lambda: second.since(started), what="the event reaching the second replica")
    received = second.since(started)
    assert [(e.kind, e.detail) for e in received] == [("handoff_requested", {"conversation_id": 7})]
    assert len(first.since(started)) == 1  # the publisher shows its own event too


def test_a_repeated_question_reuses_the_agents_work_through_an_encrypted_cache(
        own_redis, settings, engine) -> None:
    calls = []
    retriever = engine.agents.retriever

    class CountingRetriever:
        def search(self, *args, **kwargs):
            calls.append(args[0])
            return retriever.search(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(retriever, name)

    agents = Agents(**{**engine.agents.__dict__, "retriever": CountingRetriever()})
    runtime = Runtime.start(settings.model_copy(update={"redis_url": own_redis.url}), engine=engine)
    cache = SharedAnswerCache(runtime.redis, encrypting_serializer(keyring_of(runtime.db)))
    runtime.chat.engine = Engine(engine.pack, agents, compile_workflow(
        agents, InMemorySaver(), cache, cache_ttl_s=60), 0.0)
    with runtime.sessions.begin() as session:
        alice = principal_of(add_user(session, "alice", "harbour-lantern-quietly-7"))
    question = "How long does a transfer to a quokka-lighthouse account take?"
    first = runtime.chat.send(alice, None, question)
    second = runtime.chat.send(alice, None, question)  # a new conversation, same question
    assert first.text == second.text and first.sources == second.sources
    assert len(calls) == 1, "the second, identical question should be served from the cache"
    client = redis.Redis.from_url(own_redis.url)
    keys = client.keys("concierge:cache:*")
    assert keys and not any(b"quokka" in k or b"quokka" in (client.get(k) or b"") for k in keys)
    own_redis.stop()  # the cache fails soft
    third = runtime.chat.send(alice, None, question)
    assert third.status == "ok" and third.text == first.text
    assert len(calls) == 2  # worked out afresh

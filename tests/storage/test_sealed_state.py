"""Stored state is trusted only when it is sealed under our keys: a plaintext, forged or
foreign value planted in Redis or in a checkpoint row (SQLite and PostgreSQL) is refused
before anything in it is decoded, and even a sealed value revives no arbitrary type.

The planted payload is msgpack that, read by a permissive decoder, imports this module
and calls `record_call`: `CALLS` staying empty is the proof nothing was executed."""

from __future__ import annotations

import logging
import pickle
import uuid

import ormsgpack
import pytest
import redis
from sqlalchemy import create_engine, select, text

from core.config import Settings
from core.engine.answer_cache import SharedAnswerCache
from core.engine.engine import Engine, database_checkpointer
from core.engine.workflow import compile_workflow
from core.redis_link import RedisLink
from core.runtime import Runtime, open_database
from core.security.auth import add_user, principal_of
from core.storage.encryption import EncryptionKeyError, Keyring, generate_key, keyring_of
from core.storage.models import Turn
from core.storage.sealed_serde import encrypting_serializer

CALLS: list[object] = []


def record_call(argument: object) -> str:
    """What a hostile payload would run; it must never be called."""
    CALLS.append(argument)
    return "executed"


PAYLOAD = ormsgpack.packb(ormsgpack.Ext(0, ormsgpack.packb([__name__, "record_call", "pwned"])))
"""msgpack for `record_call("pwned")` (LangGraph's constructor extension)."""


@pytest.fixture(autouse=True)
def _no_calls():
    CALLS.clear()
    yield
    assert CALLS == [], "a planted payload was executed"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([generate_key()])


def test_sealed_values_round_trip(keyring) -> None:
    serde = encrypting_serializer(keyring)
    state = {"text": "hello", "alternatives": [["card_arrival", 0.2]], "error": None}
    for value in (state, None, b"raw", "plain"):
        kind, data = serde.dumps_typed(value)
        assert kind.endswith("+fernet") and b"hello" not in data
        assert serde.loads_typed((kind, data)) == value


@pytest.mark.parametrize("planted", [
    ("msgpack", PAYLOAD),  # unencrypted
    ("pickle", pickle.dumps(record_call)),
    ("json", b'{"lc": 2, "type": "constructor", "id": ["tests", "x"]}'),
    ("msgpack+fernet", PAYLOAD),  # claims to be sealed, is not
    ("msgpack+aes", PAYLOAD),
    ("pickle+fernet", b"gAAAA"),
])
def test_unsealed_or_forged_values_are_refused_with_a_warning(keyring, planted, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="core.storage.sealed_serde")
    with pytest.raises(EncryptionKeyError, match="Refused stored state"):
        encrypting_serializer(keyring).loads_typed(planted)
    assert "Refused stored state" in caplog.text


def test_a_value_sealed_under_another_key_is_refused(keyring) -> None:
    foreign = ("msgpack+fernet", Keyring([generate_key()]).encrypt(PAYLOAD))
    with pytest.raises(EncryptionKeyError, match="does not decrypt under our keys"):
        encrypting_serializer(keyring).loads_typed(foreign)


def test_msgpack_is_strict_even_inside_a_sealed_value(keyring) -> None:
    """LangGraph's strict mode: an unregistered type is not imported, its raw data is kept."""
    assert encrypting_serializer(keyring).loads_typed(("msgpack+fernet", keyring.encrypt(PAYLOAD))) == "pwned"


def test_planted_redis_cache_entries_are_refused(redis_url, keyring) -> None:
    cache = SharedAnswerCache(RedisLink(redis_url), encrypting_serializer(keyring))
    namespace, client = f"sealed-{uuid.uuid4().hex}", redis.Redis.from_url(redis_url)
    planted = {"plain": b"msgpack:" + PAYLOAD, "forged": b"msgpack+fernet:" + PAYLOAD,
               "foreign": b"msgpack+fernet:" + Keyring([generate_key()]).encrypt(PAYLOAD)}
    try:
        for key, value in planted.items():
            client.set(f"concierge:cache:{namespace}:{key}", value, ex=60)
        cache.set({((namespace,), "ours"): ({"intent": "card_arrival"}, 60)})
        found = cache.get([((namespace,), key) for key in (*planted, "ours")])
    finally:
        client.delete(*(f"concierge:cache:{namespace}:{k}" for k in (*planted, "ours")))
    assert found == {((namespace,), "ours"): {"intent": "card_arrival"}}


def _disk_runtime(settings: Settings, engine: Engine) -> Runtime:
    saver = database_checkpointer(settings, keyring_of(open_database(settings)))
    disk = Engine(engine.pack, engine.agents, compile_workflow(engine.agents, saver), 0.0)
    return Runtime.start(settings, engine=disk, rate_limit=False)


def _first_turn(runtime: Runtime):
    with runtime.sessions.begin() as session:
        alice = principal_of(add_user(session, "alice", "harbour-lantern-quietly-7"))
    reply = runtime.chat.send(alice, None, "My card has not arrived yet")
    assert reply.status == "ok"
    return alice, reply.conversation_id


def _assert_next_turn_refuses_the_state(runtime: Runtime, alice, conversation_id: int) -> None:
    reply = runtime.chat.send(alice, conversation_id, "and how long does that take?")
    assert reply.status == "error" and reply.route == "error"
    with runtime.sessions() as session:
        error = session.scalar(select(Turn.error).order_by(Turn.id.desc()))
    assert error.startswith("EncryptionKeyError: Refused stored state")


def test_a_planted_sqlite_checkpoint_is_refused(settings, engine) -> None:
    settings = settings.model_copy(update={"database_url": None})
    runtime = _disk_runtime(settings, engine)
    alice, conversation_id = _first_turn(runtime)
    raw = create_engine(f"sqlite:///{settings.checkpoint_path}")
    with raw.begin() as connection:
        changed = connection.execute(text("update checkpoints set type = 'msgpack', checkpoint = :p"),
                                     {"p": PAYLOAD}).rowcount
    raw.dispose()
    assert changed >= 1
    _assert_next_turn_refuses_the_state(runtime, alice, conversation_id)


def test_a_planted_postgresql_checkpoint_blob_is_refused(postgres_url, tmp_path, model_dir,
                                                          engine) -> None:
    settings = Settings(state_dir=tmp_path / "state", model_dir=model_dir,
                        database_url=postgres_url, redis_url=None)
    runtime = _disk_runtime(settings, engine)
    alice, conversation_id = _first_turn(runtime)
    raw = create_engine(postgres_url)
    with raw.begin() as connection:
        changed = connection.execute(text("update checkpoint_blobs set type = 'msgpack', blob = :p"),
                                     {"p": PAYLOAD}).rowcount
    raw.dispose()
    assert changed >= 1
    _assert_next_turn_refuses_the_state(runtime, alice, conversation_id)
    runtime.engine.graph.checkpointer.conn.close()

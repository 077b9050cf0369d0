"""PostgreSQL connections dropped mid-run (pg_terminate_backend): every customer message
is stored and answered, or the customer is told clearly; nothing is lost."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, text

from core.config import Settings
from core.runtime import Runtime
from core.security.auth import add_user, principal_of


def test_turns_survive_killed_database_connections(postgres_url, tmp_path, model_dir) -> None:
    settings = Settings(state_dir=tmp_path / "state", model_dir=model_dir,
                        database_url=postgres_url, redis_url=None)
    runtime = Runtime.start(settings, rate_limit=False)  # PostgresSaver checkpoints too
    with runtime.sessions.begin() as session:
        alice = principal_of(add_user(session, "alice", "harbour-lantern-quietly-7"))
    name = postgres_url.rsplit("/", 1)[1]
    admin = create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    stop, kills = threading.Event(), []

    def killer() -> None:  # four "restarts", a second apart, while turns run
        for _ in range(4):
            time.sleep(1.0)
            with admin.connect() as connection:
                kills.append(connection.execute(text(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                    "where datname = :db and pid <> pg_backend_pid()"), {"db": name}).scalar())
        stop.set()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    replies, errors, conversation, i = [], [], None, 0
    try:
        while not stop.is_set() or i < 20:
            i += 1
            try:
                reply = runtime.chat.send(alice, conversation, f"How do I top up? ({i})")
            except Exception as exc:  # noqa: BLE001 (counted: the customer is told, see below)
                errors.append(exc)
                continue
            conversation = reply.conversation_id
            replies.append(reply)
    finally:
        stop.set()
        thread.join()
    admin.dispose()
    assert sum(k > 0 for k in kills) >= 3, "the test must actually drop connections"
    assert not errors, f"turns failed instead of being retried: {errors[:3]}"
    entries = runtime.chat.transcript(alice, conversation)
    asked = [e.text for e in entries if e.role == "customer"]
    assert len(replies) == i and asked == [f"How do I top up? ({n})" for n in range(1, i + 1)]
    assert all(e.answered for e in entries)  # every message stored and answered
    ok = sum(r.status == "ok" for r in replies)
    assert ok >= len(replies) - len(kills)  # at most one apology per restart, nothing worse
    runtime.close()

"""Everything on PostgreSQL: encrypted PostgresSaver checkpoints (multi-turn follow-ups),
no plaintext in any table, key rotation over checkpoints, purge removes threads."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import create_engine, inspect, text

from core.config import Settings
from core.runtime import Runtime, open_database
from core.security.auth import add_user, principal_of
from core.security.keystore import rotate_keys
from core.security.user_admin import CLI_ADMIN
from core.storage.encryption import read_key_file

SECRET = "quokka-lighthouse"


def _dump(url: str) -> tuple[list[str], str]:
    raw = create_engine(url)
    with raw.connect() as connection:
        tables = inspect(connection).get_table_names()
        dump = "\n".join(row[0] for name in tables for row in connection.execute(
            text(f'select row_to_json(t)::text from "{name}" t')))
        blobs = b"".join(bytes(b) for (b,) in connection.execute(
            text("select blob from checkpoint_blobs where blob is not null")))
    raw.dispose()
    return tables, dump + blobs.decode("latin-1")


def test_the_whole_engine_runs_on_postgresql_with_encrypted_checkpoints(
        postgres_url, tmp_path, model_dir) -> None:
    settings = Settings(state_dir=tmp_path / "state", model_dir=model_dir,
                        database_url=postgres_url, redis_url=None)
    runtime = Runtime.start(settings, rate_limit=False)
    with runtime.sessions.begin() as session:
        alice = principal_of(add_user(session, "alice", "harbour-lantern-quietly-7"))
    first = runtime.chat.send(alice, None, f"I want to send money abroad to {SECRET}")
    follow = runtime.chat.send(alice, first.conversation_id, "and how long does that take?")
    assert follow.route == "answer" and follow.sources  # the topic came from the checkpoint
    runtime.close()
    tables, dump = _dump(postgres_url)
    assert {"checkpoints", "checkpoint_blobs", "checkpoint_writes", "messages"} <= set(tables)
    assert "send money abroad" not in dump and SECRET not in dump

    report = rotate_keys(settings, open_database(settings), batch_size=2)
    assert report.values["checkpoints"] >= 2 and report.values["messages"] == 4
    newest = settings.model_copy(update={
        "encryption_keys": SecretStr(read_key_file(settings.key_file_path)[0])})
    again = Runtime.start(newest, rate_limit=False)
    assert again.chat.transcript(alice, first.conversation_id)[0].text.endswith(SECRET)
    third = again.chat.send(alice, first.conversation_id, "and what does it cost?")
    assert third.text  # checkpoints re-encrypted under the new key still load

    assert again.privacy.purge(CLI_ADMIN, 1) == 0
    assert again.privacy.delete_mine(alice) == 1
    again.close()
    raw = create_engine(postgres_url)
    with raw.connect() as connection:
        assert connection.scalar(text("select count(*) from checkpoints")) == 0
    raw.dispose()

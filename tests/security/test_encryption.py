"""Encryption at rest: raw databases hold no plaintext, rotation loses nothing, a wrong
or missing key is a clear error."""

from __future__ import annotations

import stat
import subprocess
import sys

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, inspect, text

from core.config import PROJECT_DIR, Settings
from core.engine.engine import Engine, database_checkpointer
from core.engine.workflow import compile_workflow
from core.runtime import Runtime, open_database
from core.security.auth import Principal, add_user, principal_of
from core.security.keystore import rotate_keys
from core.storage.encryption import EncryptionKeyError, Keyring, generate_key, read_key_file

SECRET_WORDS = ("marmalade-zephyr", "quokka-lighthouse")
MESSAGES = (
    f"I lost my card near the {SECRET_WORDS[0]} cafe, please block it",
    f"and how long does a new one take? my email is {SECRET_WORDS[1]}@example.com",
)


def _runtime_with_disk_checkpoints(settings: Settings, engine: Engine) -> Runtime:
    """A runtime whose checkpoints are stored in the database (SQLite file or PostgreSQL)."""
    from core.storage.encryption import keyring_of

    saver = database_checkpointer(settings, keyring_of(open_database(settings)))
    disk_engine = Engine(engine.pack, engine.agents, compile_workflow(engine.agents, saver), 0.0)
    return Runtime.start(settings, engine=disk_engine, rate_limit=False)


def _customer(runtime: Runtime, name: str = "alice") -> Principal:
    with runtime.sessions.begin() as session:
        return principal_of(add_user(session, name, "harbour-lantern-quietly-7"))


def _chat(runtime: Runtime) -> tuple[Principal, int]:
    user = _customer(runtime)
    reply = runtime.chat.send(user, None, MESSAGES[0])
    runtime.chat.send(user, reply.conversation_id, MESSAGES[1])
    runtime.close()  # stored traces and spans too
    return user, reply.conversation_id


def _state_bytes(settings: Settings) -> bytes:
    return b"".join(p.read_bytes() for p in settings.state_dir.rglob("*") if p.is_file()
                    and "models" not in p.parts)


def test_sqlite_files_hold_no_plaintext_but_the_service_reads_it(settings, engine) -> None:
    settings = settings.model_copy(update={"database_url": None})  # the files are the point
    runtime = _runtime_with_disk_checkpoints(settings, engine)
    user, conversation_id = _chat(runtime)
    transcript = runtime.chat.transcript(user, conversation_id)
    assert [e.text for e in transcript if e.role == "customer"] == list(MESSAGES)
    assert runtime.chat.conversations(user)[0].title.startswith("I lost my card")
    raw = _state_bytes(settings)
    assert settings.checkpoint_path.exists() and len(raw) > 10_000
    for word in (*SECRET_WORDS, "near the", "I lost my card"):
        assert word.encode() not in raw, f"{word!r} found in plaintext on disk"
    with open_database(settings).connect() as connection:  # spans and traces were stored
        assert connection.scalar(text("select count(*) from spans")) >= 6


def test_postgresql_tables_hold_no_plaintext(postgres_url, tmp_path, model_dir, engine) -> None:
    settings = Settings(state_dir=tmp_path / "state", model_dir=model_dir,
                        database_url=postgres_url, redis_url=None)
    runtime = Runtime.start(settings, engine=engine, rate_limit=False)
    user, conversation_id = _chat(runtime)
    assert runtime.chat.transcript(user, conversation_id)[0].text == MESSAGES[0]
    raw = create_engine(postgres_url)
    with raw.connect() as connection:
        tables = inspect(connection).get_table_names()
        dump = "\n".join(
            row[0] for name in tables
            for row in connection.execute(text(f'select row_to_json(t)::text from "{name}" t'))
        )
    raw.dispose()
    assert "messages" in tables and len(dump) > 1000
    for word in (*SECRET_WORDS, "I lost my card"):
        assert word not in dump


def _with_newest_key_only(settings: Settings) -> Settings:
    newest = read_key_file(settings.key_file_path)[0]
    return settings.model_copy(update={"encryption_keys": SecretStr(newest)})


def _raw_values(settings: Settings) -> dict[str, list[str]]:
    """Every stored ciphertext, per table and column, as the database holds it."""
    columns = {"messages": ["body"], "conversations": ["title"], "turn_traces": ["query"],
               "spans": ["input_summary", "output_summary"]}
    db = create_engine(settings.sqlalchemy_url)
    with db.connect() as connection:
        values = {f"{t}.{c}": [v for (v,) in connection.execute(text(f"select {c} from {t} order by 1"))]
                  for t, cs in columns.items() for c in cs}
    db.dispose()
    return values


def test_rotation_reencrypts_every_value_under_the_new_key(settings, engine) -> None:
    runtime = _runtime_with_disk_checkpoints(settings, engine)
    user, conversation_id = _chat(runtime)
    before_transcript = runtime.chat.transcript(user, conversation_id)
    before = _raw_values(settings)
    old_keys = read_key_file(settings.key_file_path)

    for round_ in range(2):  # two rotations: three keys, values under the newest only
        report = rotate_keys(settings, open_database(settings), batch_size=3)
        keys = read_key_file(settings.key_file_path)
        assert report.keys == len(keys) == 2 + round_ and keys[1:] == (old_keys if round_ == 0 else keys[1:])
        assert report.values["messages"] == len(before["messages.body"]) == 4
        assert report.values["spans"] == 2 * len(before["spans.input_summary"])
        assert report.values["checkpoints"] >= 2

    after = _raw_values(settings)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    newest_only = Keyring(read_key_file(settings.key_file_path)[:1])
    for column, tokens in after.items():
        assert not set(tokens) & set(before[column]), f"{column} kept an old ciphertext"
        for token in tokens:
            newest_only.decrypt(token.encode())  # raises if any value is under an old key
    reopened = Runtime.start(_with_newest_key_only(settings), engine=engine)
    assert reopened.chat.transcript(user, conversation_id) == before_transcript


def test_an_interrupted_rotation_is_finished_by_running_it_again(settings, engine) -> None:
    runtime = _runtime_with_disk_checkpoints(settings, engine)
    user, conversation_id = _chat(runtime)
    expected = runtime.chat.transcript(user, conversation_id)

    def crash_after_first_batch(table: str, done: int) -> None:
        raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        rotate_keys(settings, open_database(settings), batch_size=2, on_batch=crash_after_first_batch)
    assert len(read_key_file(settings.key_file_path)) == 2
    report = rotate_keys(settings, open_database(settings), add_key=False, batch_size=2)
    assert report.keys == 2 and report.values["messages"] == 4
    assert Runtime.start(_with_newest_key_only(settings), engine=engine).chat.transcript(user, conversation_id) == expected


def test_key_file_is_created_private_and_a_wrong_or_missing_key_is_a_clear_error(settings, engine) -> None:
    runtime = Runtime.start(settings, engine=engine, rate_limit=False)
    _chat(runtime)
    mode = stat.S_IMODE(settings.key_file_path.stat().st_mode)
    assert mode == 0o600

    wrong = settings.model_copy(update={"encryption_keys": SecretStr(generate_key())})
    with pytest.raises(EncryptionKeyError, match="cannot read this database"):
        Runtime.start(wrong, engine=engine)
    with pytest.raises(EncryptionKeyError, match="malformed"):
        Runtime.start(settings.model_copy(update={"encryption_keys": SecretStr("not-a-key")}), engine=engine)

    settings.key_file_path.unlink()
    with pytest.raises(EncryptionKeyError, match="no key is configured"):
        Runtime.start(settings, engine=engine)
    assert not settings.key_file_path.exists(), "a new key must not be made for an encrypted database"


def test_cli_reports_a_wrong_key_on_one_line(settings) -> None:
    env = {"CONCIERGE_STATE_DIR": str(settings.state_dir), "PATH": "/usr/bin:/bin"}
    init = [sys.executable, "-m", "core.cli", "init"]
    assert subprocess.run(init, env=env, cwd=PROJECT_DIR, capture_output=True, check=False).returncode == 0
    result = subprocess.run(init, env={**env, "CONCIERGE_ENCRYPTION_KEYS": generate_key()},
                            cwd=PROJECT_DIR, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "cannot read this database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_running_server_reads_values_rotated_under_a_new_key(settings, engine) -> None:
    runtime = Runtime.start(settings, engine=engine, rate_limit=False)  # started with one key
    user, conversation_id = _chat(runtime)
    expected = [e.text for e in runtime.chat.transcript(user, conversation_id)]
    rotate_keys(settings, open_database(settings))  # another process adds a key and rotates
    assert [e.text for e in runtime.chat.transcript(user, conversation_id)] == expected
    assert runtime.chat.send(user, conversation_id, "thanks").text  # and it keeps writing

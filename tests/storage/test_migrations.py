"""Alembic owns the schema: an empty database and one at the previous revision both
reach the models' schema, and existing customer text is encrypted on the way."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from core.config import Settings
from core.runtime import Runtime, open_database
from core.security.auth import Principal
from core.storage.database import make_database
from core.storage.migrate import current, head, upgrade
from core.storage.models import Base


def _settings(tmp_path, model_dir, url: str | None) -> Settings:
    return Settings(state_dir=tmp_path / "state", model_dir=model_dir, database_url=url,
                    redis_url=None)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str | None:
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


def test_upgrade_from_empty_matches_the_models(database_url, tmp_path, model_dir) -> None:
    db = open_database(_settings(tmp_path, model_dir, database_url))
    assert current(db) == head()
    with db.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    assert upgrade(db) == head()  # idempotent
    db.dispose()


LEGACY_ROWS = [  # no explicit ids: a fresh database numbers them 1, 2, ... (and PG's sequences agree)
    ("insert into users (username, password_hash, role, is_active, created_at) "
    "values ('alice', 'x', 'customer', true, '2026-11-01 10:00:00')"),
    ("insert into conversations (user_id, title, thread_id, created_at) "
    "values (1, 'My card is stuck', 't-legacy', '2026-11-01 10:00:00')"),
    ("insert into messages (conversation_id, role, body, created_at) values "
    "(1, 'customer', 'My card is stuck in the machine at quokka street', '2026-11-01 10:00:00'),"
    "(1, 'assistant', 'Freeze it in the app, then order a new one.', '2026-11-01 10:00:01')"),
    ("insert into turns (conversation_id, question_id, reply_id, intent, confidence, route,"
    " sources, latency_ms, status, created_at) values (1, 1, 2, 'card_swallowed', 0.9,"
    " 'answer', '[]', 12.0, 'ok', '2026-11-01 10:00:01')"),
    ("insert into spans (turn_id, created_at, node, start_ms, duration_ms, status,"
    " input_summary, output_summary) values (1, '2026-11-01 10:00:01', 'classify_intent',"
    " 0, 1, 'ok', 'text=quokka street', 'card_swallowed')"),
]


def test_upgrade_from_the_previous_revision_keeps_and_encrypts_the_data(
        database_url, tmp_path, model_dir, engine) -> None:
    settings = _settings(tmp_path, model_dir, database_url)
    db = make_database(settings)
    assert upgrade(db, "0001") == "0001"
    with db.begin() as connection:
        for statement in LEGACY_ROWS:
            connection.execute(text(statement))

    runtime = Runtime.start(settings, engine=engine)  # migrates to head on start
    assert current(runtime.db) == head()
    alice = Principal(id=1, username="alice", role="customer")
    transcript = runtime.chat.transcript(alice, 1)
    assert [e.text for e in transcript] == ["My card is stuck in the machine at quokka street",
                                             "Freeze it in the app, then order a new one."]
    assert runtime.chat.conversations(alice)[0].title == "My card is stuck"
    raw = create_engine(settings.sqlalchemy_url)
    with raw.connect() as connection:
        stored = [*connection.execute(text("select body from messages")).scalars(),
                  *connection.execute(text("select input_summary from spans")).scalars(),
                  *connection.execute(text("select title from conversations")).scalars()]
    raw.dispose()
    assert len(stored) == 4 and not any("quokka" in v or "stuck" in v for v in stored)
    assert runtime.chat.send(alice, 1, "thanks!").text  # the legacy conversation carries on
    runtime.close()


def test_latest_is_alembics_head() -> None:
    from core.storage import migrate

    assert migrate.LATEST == head()


def test_a_database_made_before_migrations_is_adopted(tmp_path, model_dir, engine) -> None:
    settings = _settings(tmp_path, model_dir, None)
    db = make_database(settings)
    upgrade(db, "0001")
    with db.begin() as connection:  # as the app made it before Alembic: no version table
        connection.execute(text("drop table alembic_version"))
        for statement in LEGACY_ROWS[:3]:
            connection.execute(text(statement))
    runtime = Runtime.start(settings, engine=engine)
    assert current(runtime.db) == head()
    alice = Principal(id=1, username="alice", role="customer")
    assert runtime.chat.transcript(alice, 1)[0].text.startswith("My card is stuck")


def test_migrations_run_from_an_installed_package(tmp_path) -> None:
    """A non-editable install (as the Docker image makes) carries the migration scripts:
    `concierge db upgrade` from another folder reaches the latest revision."""
    import os
    import subprocess
    import sys

    from core.config import PROJECT_DIR

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(PROJECT_DIR)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "CONCIERGE_STATE_DIR": str(tmp_path / "st")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "core.cli", "db", "upgrade", "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert f'"to": "{head()}"' in done.stdout
    assert (target / "core" / "storage" / "migrations" / "script.py.mako").exists()

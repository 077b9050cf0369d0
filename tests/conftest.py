"""Shared fixtures: the demo pack's engine (trained once per test session) and a runtime
on a scratch state folder. BANKING77 lives in ../shared/data/banking77 beside the repo."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.engine.engine import Engine, memory_checkpointer
from core.storage.encryption import Keyring, generate_key
from tests.support import IN_CI, unavailable  # noqa: F401 (IN_CI: older imports of it from here)

BANKING77 = PROJECT_DIR.parent / "shared" / "data" / "banking77"


def need_banking77() -> Path:
    if not (BANKING77 / "test.csv").exists():
        unavailable(f"BANKING77 not found at {BANKING77} (../shared beside the repo)")
    return BANKING77


@pytest.fixture(scope="session")
def model_dir() -> Path:
    """The demo pack's trained model, kept between sessions: the cache key is a hash of the
    training data, options and model version, so a stale model is never used."""
    return PROJECT_DIR / ".pytest_cache" / "concierge-models"


TEST_DATABASE = os.environ.get("CONCIERGE_TEST_DATABASE", "sqlite")
"""`postgresql` runs every test that uses `settings` on a fresh PostgreSQL database."""


@pytest.fixture
def settings(tmp_path: Path, model_dir: Path, request: pytest.FixtureRequest) -> Settings:
    url = request.getfixturevalue("postgres_url") if TEST_DATABASE == "postgresql" else None
    return Settings(state_dir=tmp_path / "state", model_dir=model_dir, database_url=url,
                    redis_url=None)


@pytest.fixture(scope="session")
def engine(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The demo pack's engine, shared by the session. Its checkpoints are in memory, or, on
    the PostgreSQL pass, in a PostgreSQL database of its own (encrypted, as in the app), so
    every test that runs a turn meets the PostgreSQL checkpointer there."""
    settings = Settings(state_dir=tmp_path_factory.mktemp("engine-state"), model_dir=model_dir)
    if TEST_DATABASE != "postgresql":
        yield Engine.load(settings, checkpointer=memory_checkpointer())
        return
    url = create_test_database()
    engine = Engine.load(settings.model_copy(update={"database_url": url}),
                         keyring=Keyring([generate_key()]))
    yield engine
    engine.graph.checkpointer.conn.close()
    drop_test_database(url)


@contextmanager
def scratch_database_url() -> Iterator[str | None]:
    """For runtimes built by module-scoped fixtures: None (a SQLite file in the state
    folder), or on the PostgreSQL pass a fresh PostgreSQL database, dropped afterwards."""
    if TEST_DATABASE != "postgresql":
        yield None
        return
    url = create_test_database()
    try:
        yield url
    finally:
        drop_test_database(url)


POSTGRES_ADMIN_URL = os.environ.get(
    "CONCIERGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def create_test_database() -> str:
    """A fresh, empty PostgreSQL database; its SQLAlchemy URL.

    Skips locally when no server answers; a failure under CI, which must have one.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"concierge_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'create database "{name}"'))
    except OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    finally:
        admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_test_database(url: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'drop database if exists "{url.rsplit("/", 1)[1]}" with (force)'))
    admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards)."""
    url = create_test_database()
    yield url
    drop_test_database(url)


REDIS_TEST_URL = os.environ.get("CONCIERGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url() -> str:
    """The test Redis (database 15). Skipped locally when absent; a failure under CI."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis is not reachable at {REDIS_TEST_URL}: {exc}")
    return REDIS_TEST_URL

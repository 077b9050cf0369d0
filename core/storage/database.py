"""The database engine and session factory for `DATABASE_URL` (SQLite by default).

Statement parameters (customer text) are hidden from SQLAlchemy's errors and logs.

Repository code takes a `Session` (or, on a turn's hot path, a `Connection`) and does
not commit; services own one `with sessions.begin()` per unit of work.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import AbstractContextManager, nullcontext

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.storage.fair_lock import FairLock

_TURN_WRITES: weakref.WeakKeyDictionary[Engine, FairLock] = weakref.WeakKeyDictionary()
_TURN_WRITES_GUARD = threading.Lock()


def make_database(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # One connection, handed out in turn: SQLite has one writer anyway, and queueing
        # here is fair and fast where SQLite's busy-wait backs off by sleeping.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=1, max_overflow=0, pool_timeout=60, hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql"):
        _need_postgres_extra()
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class MissingExtra(RuntimeError):
    """The settings need an optional part of the install that is not there."""


def _need_postgres_extra() -> None:
    """Say in one line which extra to install, not which module is missing."""
    try:
        import langgraph.checkpoint.postgres  # noqa: F401
        import psycopg  # noqa: F401
    except ImportError:
        raise MissingExtra(
            "DATABASE_URL points at PostgreSQL, but the postgres extra is not installed: "
            "pip install 'concierge[postgres]' (or -e '.[postgres]' in a checkout)") from None


def bound_database(sessions: sessionmaker[Session]) -> Engine:
    """The database a session factory opens sessions on."""
    return sessions.kw["bind"]


def turn_writes(engine: Engine) -> AbstractContextManager:
    """Hold around a turn's writes (question, reply, traces): on SQLite, one FairLock per
    database so writers take the single connection in the order they came; elsewhere
    nothing (PostgreSQL takes concurrent writers)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _TURN_WRITES_GUARD:
        return _TURN_WRITES.setdefault(engine, FairLock())


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)

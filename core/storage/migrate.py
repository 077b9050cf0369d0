"""Schema migrations with Alembic (`concierge db upgrade`; `init` and every start run it).

The migration scripts live in `core/storage/migrations/versions`. The keyring is handed to the
migrations that encrypt existing values. A database already at `LATEST` is recognised
with one query, without loading Alembic (it costs a process about 12 MB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LATEST = "0009"
"""The newest revision (a test checks it is Alembic's head)."""


def _config(connection: Any, keyring: Any = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["keyring"] = keyring
    return config


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("select version_num from alembic_version")).scalar()


def _made_before_migrations(connection: Any) -> bool:
    tables = inspect(connection)
    return tables.has_table("users") and not tables.has_table("alembic_version")


def upgrade(engine: Engine, revision: str = "head", keyring: Any = None) -> str | None:
    """Bring the schema to `revision` (idempotent); returns the revision it is at now."""
    if revision in ("head", LATEST) and current(engine) == LATEST:
        return LATEST
    from alembic import command

    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # batch migrations copy tables; SQLite checks keys on the copy otherwise
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                config = _config(connection, keyring)
                if _made_before_migrations(connection):
                    command.stamp(config, "0001")  # its tables are revision 0001's
                command.upgrade(config, revision)
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()
    return current(engine)

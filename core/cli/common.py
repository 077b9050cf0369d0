"""What every `concierge` verb shares: the one-line error, printing a result, the database."""

from __future__ import annotations

import json

from sqlalchemy import Engine as Database
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings, get_settings


class CliError(Exception):
    """A problem to report on one line, then exit 1."""


def print_result(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


def open_database(settings: Settings) -> Database:
    """The configured database, migrated and its keys checked (imported here, so a verb
    that needs only the database does not load the engine)."""
    from core.runtime import open_database as open_configured

    return open_configured(settings)


def open_sessions(settings: Settings | None = None) -> sessionmaker[Session]:
    from core.storage.database import make_sessions

    return make_sessions(open_database(settings or get_settings()))


def live_engine(settings: Settings):
    """An engine on the pack plus the live labelled examples (in-memory checkpoints)."""
    from core.engine.engine import Engine, memory_checkpointer
    from core.learning.replicas import live_labelled

    with open_sessions(settings)() as session:
        version, labelled = live_labelled(session)
    return Engine.load(settings, checkpointer=memory_checkpointer(), labelled=labelled,
                       model_version=version)

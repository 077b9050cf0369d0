"""`concierge init` and `concierge db upgrade|current`: the schema and the demo users."""

from __future__ import annotations

import argparse

from core.cli.common import live_engine, open_database, print_result
from core.config import get_settings
from core.storage.database import make_sessions


def cmd_init(args: argparse.Namespace) -> None:
    from core.security.demo_users import seed_demo_users

    settings = get_settings()
    db = open_database(settings)
    result: dict = {"database": db.url.render_as_string(hide_password=True), "demo_users": []}
    if args.demo:
        created, password, generated = seed_demo_users(make_sessions(db), settings.demo_password,
                                                       settings.password_min_chars)
        result["demo_users"] = created
        if created and generated:
            result["demo_password"] = password  # generated: shown this once, stored only hashed
        engine = live_engine(settings)  # trains the model cache
        result["engine_load_seconds"] = round(engine.load_seconds, 2)
    print_result(result, args.json)


def cmd_db(args: argparse.Namespace) -> None:
    from core.security.keystore import keyring_for_migration, open_keyring
    from core.storage.database import make_database
    from core.storage.migrate import current, head, upgrade

    settings = get_settings()
    db = make_database(settings)
    if args.action == "upgrade":
        before = current(db)
        after = upgrade(db, args.revision, keyring=lambda: keyring_for_migration(settings))
        open_keyring(settings, db)
        print_result({"from": before, "to": after, "head": head()}, args.json)
    else:
        print_result({"current": current(db), "head": head()}, args.json)


def register(sub: argparse._SubParsersAction) -> None:
    init = sub.add_parser("init", help="create the schema; --demo adds demo users")
    init.add_argument("--demo", action="store_true")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=cmd_init)

    database = sub.add_parser("db", help="schema migrations: upgrade (to the latest), current")
    database.add_argument("action", choices=["upgrade", "current"])
    database.add_argument("--revision", default="head")
    database.add_argument("--json", action="store_true")
    database.set_defaults(func=cmd_db)

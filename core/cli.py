"""The `concierge` command: init, ask, chat, eval, bench, monitor and seed.

Every subcommand prints one JSON object with `--json`. Bad input or a failure exits
non-zero with a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from core.config import get_settings
from core.db import make_sessions, open_database
from core.log_setup import configure_logging


class CliError(Exception):
    """A problem to report on one line, then exit 1."""


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


def cmd_init(args: argparse.Namespace) -> None:
    from core.demo import seed_demo_users

    settings = get_settings()
    db = open_database(settings)
    result: dict = {"database": db.url.render_as_string(hide_password=True), "demo_users": []}
    if args.demo:
        created, password, generated = seed_demo_users(make_sessions(db), settings.demo_password)
        result["demo_users"] = created
        if created and generated:
            result["demo_password"] = password  # generated: shown this once, stored only hashed
        from core.engine import Engine, memory_checkpointer

        engine = Engine.load(settings, checkpointer=memory_checkpointer())  # trains the model cache
        result["engine_load_seconds"] = round(engine.load_seconds, 2)
    _print(result, args.json)


def cmd_ask(args: argparse.Namespace) -> None:
    from core.runtime import Runtime

    runtime = Runtime.start(rate_limit=False)  # the terminal's own user: no one to throttle
    reply = runtime.chat.send(runtime.local_user(), None, args.text)
    runtime.close()
    result = {
        "answer": reply.text,
        "intent": reply.intent,
        "confidence": round(reply.confidence, 4) if reply.confidence is not None else None,
        "route": reply.route,
        "sources": reply.sources,
        "latency_ms": round(reply.latency_ms, 2),
        "conversation_id": reply.conversation_id,
        "status": reply.status,
        "answered_by": reply.answered_by,
        "rss_mb": _rss_mb(),
    }
    if args.json:
        _print(result, True)
    else:
        print(reply.text)


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def cmd_chat(args: argparse.Namespace) -> None:
    from core.runtime import Runtime

    runtime = Runtime.start()
    user = runtime.local_user()
    conversation = runtime.chat.start_conversation(user, "Terminal chat")
    print("Concierge terminal chat. Type your question; Ctrl-D or /quit to leave.")
    try:
        _chat_loop(runtime, user, conversation)
    finally:
        runtime.close()


def _chat_loop(runtime, user, conversation: int) -> None:
    from core.ratelimit import RateLimited
    from core.validation import InvalidMessage

    while True:
        try:
            text = input("you> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return
        if text.strip() in {"/quit", "/exit"}:
            return
        try:
            reply = runtime.chat.send(user, conversation, text)
        except (InvalidMessage, RateLimited) as exc:
            print(f"! {exc}")
            continue
        print(f"bot> {reply.text}\n")


def cmd_eval(args: argparse.Namespace) -> None:
    from core.evaluation import evaluate_engine, evaluate_intents, read_labelled_csv

    test = read_labelled_csv(Path(args.test), args.text_col, args.label_col)
    if args.target == "intents":
        if not args.train:
            raise CliError("eval intents needs --train CSV")
        from agents.embeddings import load_encoder

        train = read_labelled_csv(Path(args.train), args.text_col, args.label_col)
        encoder = load_encoder(get_settings().embeddings)
        result = evaluate_intents(train, test, args.oos_label, encoder=encoder)
    else:
        from core.engine import Engine, memory_checkpointer

        engine = Engine.load(get_settings(), checkpointer=memory_checkpointer())
        result = evaluate_engine(engine, test, args.oos_label)
    _print(result, args.json)


def cmd_bench(args: argparse.Namespace) -> None:
    if args.turns is not None and args.turns < 1 or args.concurrency < 1 \
            or args.conversations < 1 or args.turns_each < 1:
        raise CliError("--turns, --concurrency, --conversations and --turns-each must be at least 1")
    settings = get_settings()
    if args.target == "engine":
        from core.bench import bench_engine

        _print(bench_engine(settings, args.turns or 200, args.concurrency), args.json)
        return
    from core import load

    embedded = settings.model_copy(update={"database_url": None, "redis_url": None})
    if args.target == "load":
        runs = [load.load(settings, args.conversations, args.turns_each)]
        if args.compare_sqlite and (settings.database_url or settings.redis_url):
            runs.append(load.load(embedded, args.conversations, args.turns_each))
    else:
        runs = [load.soak(settings, args.turns or 10_000)]
    _print({"runs": runs}, args.json)


def cmd_monitor(args: argparse.Namespace) -> None:
    import threading

    from core.events import EventBus
    from core.monitoring.monitor import Monitor
    from core.redis_link import RedisLink

    settings = get_settings()
    link = RedisLink(settings.redis_url)
    monitor = Monitor(make_sessions(open_database(settings)), disk_path=settings.state_dir,
                      consecutive=settings.alert_consecutive,
                      webhook_url=settings.alert_webhook_url, link=link, events=EventBus(link),
                      lease_s=max(3 * settings.monitor_interval_s, 2.0))
    if args.once:
        time.sleep(1.0)  # psutil's CPU reading needs an interval to measure over
        events = monitor.tick()
        _print({"readings": monitor.last_readings, "events": [
            {"event": e, "rule": a.rule, "message": a.message} for e, a in events]}, args.json)
        return
    print(f"Monitoring every {settings.monitor_interval_s:g} s; Ctrl-C to stop.", file=sys.stderr)
    monitor.run(settings.monitor_interval_s, threading.Event())


def cmd_seed(args: argparse.Namespace) -> None:
    from core.seed_turns import seed_turns

    if args.turns < 1 or args.days <= 0:
        raise CliError("--turns must be at least 1 and --days above 0")
    _print(seed_turns(make_sessions(open_database(get_settings())), args.turns, days=args.days),
           args.json)


def cmd_keys(args: argparse.Namespace) -> None:
    from core.crypto import generate_key

    if args.action == "generate":
        _print({"key": generate_key()}, args.json)
        return
    from core.keystore import rotate_keys
    from core.models import AuditEvent

    settings = get_settings()
    db = open_database(settings)

    def progress(table: str, done: int) -> None:
        if not args.json:
            print(f"  {table}: {done:,} values re-encrypted", file=sys.stderr)

    report = rotate_keys(settings, db, add_key=not args.resume, batch_size=args.batch_size,
                         on_batch=progress)
    with make_sessions(db).begin() as session:
        session.add(AuditEvent(action="keys_rotate", outcome="success", client="cli",
                               detail=f"{sum(report.values.values())} values re-encrypted; "
                                      f"{report.keys} keys"))
    _print({"keys": report.keys, "reencrypted": report.values}, args.json)


def _user_admin():
    """User administration on the database alone (no engine or models to load)."""
    from core.user_admin import UserAdminService
    from core.user_sessions import SessionService

    settings = get_settings()
    sessions = make_sessions(open_database(settings))
    return UserAdminService(sessions, SessionService(sessions),
                            min_password_chars=settings.password_min_chars)


def cmd_user(args: argparse.Namespace) -> None:
    from core.user_admin import CLI_ADMIN

    if args.action != "list" and not args.username:
        raise CliError(f"user {args.action} needs a username")
    users = _user_admin()
    result: dict = {"username": args.username, "action": args.action}
    if args.action == "list":
        result = {"users": [{"username": u.username, "role": u.role, "active": u.active}
                            for u in users.users(CLI_ADMIN)]}
    elif args.action == "add":
        password = users.add(CLI_ADMIN, args.username, args.role or "customer",
                             _password_arg(args), client="cli")
        result |= {"role": args.role or "customer"}
        if args.password_stdin is False:
            result["password"] = password  # generated: shown once, stored only hashed
    elif args.action == "set-role":
        if not args.role:
            raise CliError("set-role needs --role customer|supervisor|admin")
        users.set_role(CLI_ADMIN, args.username, args.role, client="cli")
        result["role"] = args.role
    elif args.action in ("disable", "enable"):
        ended = users.set_active(CLI_ADMIN, args.username, args.action == "enable", client="cli")
        result["sessions_ended"] = ended
    elif args.action == "reset-password":
        password = users.reset_password(CLI_ADMIN, args.username, _password_arg(args), client="cli")
        if args.password_stdin is False:
            result["password"] = password
    _print(result, args.json)


def _password_arg(args: argparse.Namespace) -> str | None:
    """A password read from stdin with --password-stdin (never from the command line)."""
    if not args.password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise CliError("--password-stdin: no password on standard input")
    return password


def cmd_purge(args: argparse.Namespace) -> None:
    from core.crypto import keyring_of
    from core.engine import database_checkpointer
    from core.privacy import PrivacyService
    from core.user_admin import CLI_ADMIN

    settings = get_settings()
    days = args.older_than_days or settings.retention_days
    if days is None:
        raise CliError("no retention set: pass --older-than-days N or set CONCIERGE_RETENTION_DAYS")
    db = open_database(settings)
    # with the stored checkpoints (encrypted), so purged conversations lose theirs too
    privacy = PrivacyService(make_sessions(db), database_checkpointer(settings, keyring_of(db)))
    deleted = privacy.purge(CLI_ADMIN, days, client="cli")
    _print({"deleted_conversations": deleted, "older_than_days": days}, args.json)


def cmd_db(args: argparse.Namespace) -> None:
    from core.db import make_engine
    from core.keystore import keyring_for_migration, open_keyring
    from core.migrate import current, head, upgrade

    settings = get_settings()
    db = make_engine(settings)
    if args.action == "upgrade":
        before = current(db)
        after = upgrade(db, args.revision, keyring=lambda: keyring_for_migration(settings))
        open_keyring(settings, db)
        _print({"from": before, "to": after, "head": head()}, args.json)
    else:
        _print({"current": current(db), "head": head()}, args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concierge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    init = sub.add_parser("init", help="create the schema; --demo adds demo users")
    init.add_argument("--demo", action="store_true")
    init.add_argument("--json", action="store_true")
    init.set_defaults(func=cmd_init)

    ask = sub.add_parser("ask", help="one turn through the full engine")
    ask.add_argument("text")
    ask.add_argument("--json", action="store_true")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="an interactive terminal chat")
    chat.set_defaults(func=cmd_chat)

    evaluate = sub.add_parser("eval", help="measure intents or the whole engine on a CSV")
    evaluate.add_argument("target", choices=["intents", "engine"])
    evaluate.add_argument("--train")
    evaluate.add_argument("--test", required=True)
    evaluate.add_argument("--text-col", default="text")
    evaluate.add_argument("--label-col", default="category")
    evaluate.add_argument("--oos-label")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)

    bench = sub.add_parser("bench", help="latency of full turns against a bare graph")
    bench.add_argument("target", choices=["engine", "load", "soak"],
                       help="engine: turns vs a bare graph; load: concurrent conversations on the "
                            "configured backends; soak: memory over many turns")
    bench.add_argument("--turns", type=int, help="engine: 200; soak: 10000")
    bench.add_argument("--conversations", type=int, default=50, help="load")
    bench.add_argument("--turns-each", type=int, default=20, help="load")
    bench.add_argument("--compare-sqlite", action="store_true",
                       help="load: also run on the embedded default in the same command")
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)

    monitor = sub.add_parser("monitor", help="sample the host and check alert rules, forever")
    monitor.add_argument("--once", action="store_true", help="one sample and check, then exit")
    monitor.add_argument("--json", action="store_true")
    monitor.set_defaults(func=cmd_monitor)

    database = sub.add_parser("db", help="schema migrations: upgrade (to the latest), current")
    database.add_argument("action", choices=["upgrade", "current"])
    database.add_argument("--revision", default="head")
    database.add_argument("--json", action="store_true")
    database.set_defaults(func=cmd_db)

    keys = sub.add_parser("keys", help="encryption keys: generate one, or rotate (re-encrypts all)")
    keys.add_argument("action", choices=["generate", "rotate"])
    keys.add_argument("--resume", action="store_true",
                      help="re-encrypt under the newest key without adding one (finish a rotation)")
    keys.add_argument("--batch-size", type=int, default=500)
    keys.add_argument("--json", action="store_true")
    keys.set_defaults(func=cmd_keys)

    user = sub.add_parser("user", help="manage users (admin): add, disable, enable, set-role, "
                                       "reset-password, list")
    user.add_argument("action", choices=["add", "disable", "enable", "set-role", "reset-password",
                                         "list"])
    user.add_argument("username", nargs="?", default="")
    user.add_argument("--role", choices=["customer", "supervisor", "admin"])
    user.add_argument("--password-stdin", action="store_true",
                      help="read the password from standard input (default: generate one)")
    user.add_argument("--json", action="store_true")
    user.set_defaults(func=cmd_user)

    purge = sub.add_parser("purge", help="delete conversations older than the retention period")
    purge.add_argument("--older-than-days", type=int)
    purge.add_argument("--json", action="store_true")
    purge.set_defaults(func=cmd_purge)

    seed = sub.add_parser("seed", help="store synthetic turns (to try the monitoring pages at scale)")
    seed.add_argument("target", choices=["turns"])
    seed.add_argument("--turns", type=int, default=100_000)
    seed.add_argument("--days", type=float, default=7.0)
    seed.add_argument("--json", action="store_true")
    seed.set_defaults(func=cmd_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    configure_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line on stderr, never a traceback
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"concierge: error: {message}", file=sys.stderr)
        logging.getLogger("concierge").debug("command failed", exc_info=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`concierge keys`, `concierge user` and `concierge purge`: keys, users and retention (admin)."""

from __future__ import annotations

import argparse
import sys

from core.cli.common import CliError, open_database, open_sessions, print_result
from core.config import get_settings
from core.storage.database import make_sessions


def cmd_keys(args: argparse.Namespace) -> None:
    from core.storage.encryption import generate_key

    if args.action == "generate":
        print_result({"key": generate_key()}, args.json)
        return
    from core.security.keystore import rotate_keys
    from core.storage.models import AuditEvent

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
    print_result({"keys": report.keys, "reencrypted": report.values}, args.json)


def _user_admin():
    """User administration on the database alone (no engine or models to load)."""
    from core.security.browser_sessions import BrowserSessionService
    from core.security.user_admin import UserAdminService

    settings = get_settings()
    sessions = open_sessions(settings)
    return UserAdminService(sessions, BrowserSessionService(sessions),
                            min_password_chars=settings.password_min_chars)


def cmd_user(args: argparse.Namespace) -> None:
    from core.security.user_admin import CLI_ADMIN

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
    print_result(result, args.json)


def _password_arg(args: argparse.Namespace) -> str | None:
    """A password read from stdin with --password-stdin (never from the command line)."""
    if not args.password_stdin:
        return None
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        raise CliError("--password-stdin: no password on standard input")
    return password


def cmd_purge(args: argparse.Namespace) -> None:
    from core.conversations.privacy import PrivacyService
    from core.engine.engine import database_checkpointer
    from core.security.user_admin import CLI_ADMIN
    from core.storage.encryption import keyring_of

    settings = get_settings()
    days = args.older_than_days or settings.retention_days
    if days is None:
        raise CliError("no retention set: pass --older-than-days N or set CONCIERGE_RETENTION_DAYS")
    db = open_database(settings)
    # with the stored checkpoints (encrypted), so purged conversations lose theirs too
    privacy = PrivacyService(make_sessions(db), database_checkpointer(settings, keyring_of(db)))
    deleted = privacy.purge(CLI_ADMIN, days, client="cli")
    print_result({"deleted_conversations": deleted, "older_than_days": days}, args.json)


def register(sub: argparse._SubParsersAction) -> None:
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

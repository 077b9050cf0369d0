"""`concierge inbox list`: the hand-off queue for scripts (as a supervisor sees it)."""

from __future__ import annotations

import argparse

from core.cli.common import open_sessions, print_result
from core.config import get_settings


def cmd_inbox(args: argparse.Namespace) -> None:
    from core.conversations.inbox import InboxService
    from core.security.user_admin import CLI_ADMIN
    from core.storage.models import utcnow

    page = InboxService(open_sessions(get_settings())).queue(CLI_ADMIN, args.view,
                                                           limit=args.limit)
    now = utcnow()
    rows = [{"conversation": r.conversation_id, "customer": r.customer, "status": r.status,
             "agent": r.assignee, "waited_s": round(r.waited_s(now)), "intent": r.intent,
             "tried": r.tried} for r in page.rows]
    if args.json:
        print_result({"view": args.view, "total": page.total, "conversations": rows}, True)
        return
    print(f"{page.total} {args.view} (showing {len(rows)})")
    for row in rows:
        print(f"#{row['conversation']}  {row['customer']}  {row['status']}"
              f"{'  ' + row['agent'] if row['agent'] else ''}  waited {row['waited_s']} s  "
              f"{row['intent'] or '-'}  ({row['tried']})")


def register(sub: argparse._SubParsersAction) -> None:
    inbox = sub.add_parser("inbox", help="the hand-off inbox")
    verbs = inbox.add_subparsers(dest="inbox_command", required=True)
    listing = verbs.add_parser("list", help="conversations waiting for (or held by) a person")
    listing.add_argument("--view", choices=["waiting", "mine", "open", "resolved"],
                         default="waiting")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_inbox)

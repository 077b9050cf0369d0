"""`concierge monitor`, `concierge seed turns` and `concierge seed handoffs`: the system
monitor and synthetic load for the supervisor pages and the inbox."""

from __future__ import annotations

import argparse
import sys
import time

from core.cli.common import CliError, open_sessions, print_result
from core.config import get_settings


def cmd_monitor(args: argparse.Namespace) -> None:
    import threading

    from core.conversations.agent_hours import AgentHours
    from core.events import EventBus
    from core.monitoring.monitor import Monitor
    from core.redis_link import RedisLink

    settings = get_settings()
    link = RedisLink(settings.redis_url)
    monitor = Monitor(open_sessions(settings), disk_path=settings.state_dir,
                      consecutive=settings.alert_consecutive,
                      webhook_url=settings.alert_webhook_url, link=link, events=EventBus(link),
                      lease_s=max(3 * settings.monitor_interval_s, 2.0),
                      hours=AgentHours.parse(settings.agent_hours, settings.agent_timezone))
    if args.once:
        time.sleep(1.0)  # psutil's CPU reading needs an interval to measure over
        events = monitor.tick()
        print_result({"readings": monitor.last_readings, "events": [
            {"event": e, "rule": a.rule, "message": a.message} for e, a in events]}, args.json)
        return
    print(f"Monitoring every {settings.monitor_interval_s:g} s; Ctrl-C to stop.", file=sys.stderr)
    monitor.run(settings.monitor_interval_s, threading.Event())


def cmd_seed(args: argparse.Namespace) -> None:
    from core.monitoring.seed_turns import seed_turns

    if args.target == "handoffs":
        from core.conversations.seed_handoffs import seed_handoffs

        if args.conversations < 1:
            raise CliError("--conversations must be at least 1")
        print_result(seed_handoffs(open_sessions(get_settings()), args.conversations), args.json)
        return
    if args.turns < 1 or args.days <= 0:
        raise CliError("--turns must be at least 1 and --days above 0")
    print_result(seed_turns(open_sessions(get_settings()), args.turns, days=args.days),
           args.json)


def register(sub: argparse._SubParsersAction) -> None:
    monitor = sub.add_parser("monitor", help="sample the host and check alert rules, forever")
    monitor.add_argument("--once", action="store_true", help="one sample and check, then exit")
    monitor.add_argument("--json", action="store_true")
    monitor.set_defaults(func=cmd_monitor)

    seed = sub.add_parser("seed", help="store synthetic turns or hand-off requests (to try the "
                          "monitoring pages and the inbox at scale)")
    seed.add_argument("target", choices=["turns", "handoffs"])
    seed.add_argument("--conversations", type=int, default=1000,
                      help="handoffs: how many waiting conversations")
    seed.add_argument("--turns", type=int, default=100_000)
    seed.add_argument("--days", type=float, default=7.0)
    seed.add_argument("--json", action="store_true")
    seed.set_defaults(func=cmd_seed)

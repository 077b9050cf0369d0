"""`concierge bench engine|load|soak|handoff`: latency, load, memory and hand-off delivery
figures as JSON."""

from __future__ import annotations

import argparse

from core.cli.common import CliError, print_result
from core.config import get_settings


def cmd_bench(args: argparse.Namespace) -> None:
    if args.turns is not None and args.turns < 1 or args.concurrency < 1 \
            or args.conversations < 1 or args.turns_each < 1 or args.pairs < 1 \
            or args.messages < 1:
        raise CliError("--turns, --concurrency, --conversations, --turns-each, --pairs and "
                       "--messages must be at least 1")
    settings = get_settings()
    if args.target == "handoff":
        from core.cli.bench_handoff import bench_handoff

        print_result(bench_handoff(settings, args.pairs, args.messages), args.json)
        return
    if args.target == "engine":
        from core.cli.bench_engine import bench_engine

        print_result(bench_engine(settings, args.turns or 200, args.concurrency), args.json)
        return
    from core.cli import bench_load as load

    embedded = settings.model_copy(update={"database_url": None, "redis_url": None})
    if args.target == "load" and args.login_burst:
        from core.cli.bench_logins import login_burst

        runs = [login_burst(settings)]
    elif args.target == "load":
        runs = [load.load(settings, args.conversations, args.turns_each)]
        if args.compare_sqlite and (settings.database_url or settings.redis_url):
            runs.append(load.load(embedded, args.conversations, args.turns_each))
    else:
        runs = [load.soak(settings, args.turns or 10_000)]
    print_result({"runs": runs}, args.json)


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="latency of full turns against a bare graph")
    bench.add_argument("target", choices=["engine", "load", "soak", "handoff"],
                       help="engine: turns vs a bare graph; load: concurrent conversations on the "
                            "configured backends; soak: memory over many turns; handoff: "
                            "customer-agent pairs exchanging messages at once")
    bench.add_argument("--turns", type=int, help="engine: 200; soak: 10000")
    bench.add_argument("--conversations", type=int, default=50, help="load")
    bench.add_argument("--turns-each", type=int, default=20, help="load")
    bench.add_argument("--compare-sqlite", action="store_true",
                       help="load: also run on the embedded default in the same command")
    bench.add_argument("--login-burst", action="store_true",
                       help="load: turns' p95 during 20 logins in 10 s against the p95 without")
    bench.add_argument("--pairs", type=int, default=20, help="handoff: customer-agent pairs")
    bench.add_argument("--messages", type=int, default=20, help="handoff: messages each way")
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)

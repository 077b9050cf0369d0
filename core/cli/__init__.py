"""The `concierge` command: one module per verb group, each adding its own parsers.

Every subcommand prints one JSON object with `--json`. Bad input or a failure exits
non-zero with a one-line message on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from core.cli import (
    admin_commands,
    bench_commands,
    chat_commands,
    db_commands,
    eval_commands,
    examples_commands,
    inbox_commands,
    kb_commands,
    monitor_commands,
)
from core.log_setup import configure_logging

VERB_GROUPS = (db_commands, chat_commands, eval_commands, bench_commands, monitor_commands,
               admin_commands, examples_commands, inbox_commands, kb_commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concierge", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for group in VERB_GROUPS:
        group.register(sub)
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


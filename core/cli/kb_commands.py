"""`concierge kb import SOURCE --out DIR`: a data pack from a help-centre or FAQ export."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import print_result


def cmd_kb_import(args: argparse.Namespace) -> None:
    from core.engine.kb_import import import_kb

    print_result(import_kb(Path(args.source), Path(args.out), replace=args.replace), args.json)


def register(sub: argparse._SubParsersAction) -> None:
    kb = sub.add_parser("kb", help="build a data pack from a help centre's export")
    verbs = kb.add_subparsers(dest="kb_command", required=True)
    importing = verbs.add_parser(
        "import", help="a folder of .md/.html/.txt articles, or a FAQ .csv/.json/.jsonl, as a pack")
    importing.add_argument("source", help="folder of articles, or FAQ file (.csv, .json or .jsonl)")
    importing.add_argument("--out", required=True, help="the new pack's folder")
    importing.add_argument("--replace", action="store_true",
                           help="replace the folder if it already holds something")
    importing.add_argument("--json", action="store_true")
    importing.set_defaults(func=cmd_kb_import)

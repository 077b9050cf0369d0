"""`concierge examples import|list|export`: labelled customer messages from the terminal.

`import CSV` adds rows (`text,intent`) exactly as Review-page labels are added, then
retrains (scored on held-out data; a worse model is not put live). `list` shows the
labels with the text masked; `export` writes them all as a CSV `import` reads back (or
JSON with --json).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from core.cli.common import open_sessions, print_result


def cmd_import(args: argparse.Namespace) -> None:
    from core.learning.csv_import import read_examples
    from core.learning.labels import LabelError
    from core.runtime import Runtime
    from core.security.user_admin import CLI_ADMIN

    rows = read_examples(Path(args.csv))  # a bad file stops here, before loading the engine
    runtime = Runtime.start(rate_limit=False)
    try:
        try:
            imported = runtime.learning.import_examples(CLI_ADMIN, rows, client="cli")
        except LabelError as exc:
            raise LabelError(f"{args.csv}: {exc}; nothing imported") from None
        version = runtime.learning.retrain_now(CLI_ADMIN.username)
    finally:
        runtime.close()
    result: dict = {"imported": imported, "model_version": runtime.engine.model_version}
    if version is not None:
        result |= {"retrain": version.status, "reason": version.reason,
                   "score_before": round(version.score_before or 0, 4),
                   "score_after": round(version.score_after or 0, 4),
                   "held_out": version.held_out, "seconds": round(version.train_seconds or 0, 1)}
    print_result(result, args.json)


def _labels():
    from core.learning import labels

    with open_sessions()() as session:
        return labels.listed(session, limit=1_000_000)


def cmd_list(args: argparse.Namespace) -> None:
    from core.tracing.masking import mask_pii

    rows = [{"id": r.id, "label": r.label, "trains_as": r.intent, "status": r.status,
             "source": r.source, "by": r.labelled_by, "text": mask_pii(r.text)}
            for r in _labels()]
    if args.json:
        print(json.dumps({"examples": rows}, ensure_ascii=False))
        return
    for row in rows:
        print(f"#{row['id']}\t{row['status']}\t{row['label']}\t{row['text']}")
    print(f"{len(rows)} labelled examples")


def cmd_export(args: argparse.Namespace) -> None:
    rows = sorted(_labels(), key=lambda r: r.id)
    if args.json:
        print(json.dumps({"examples": [
            {"id": r.id, "text": r.text, "intent": r.label, "trains_as": r.intent,
             "status": r.status, "source": r.source, "masked": r.masked} for r in rows]},
            ensure_ascii=False))
        return
    writer = csv.writer(sys.stdout)
    writer.writerow(["text", "intent"])
    writer.writerows([r.text, r.intent] for r in rows if r.status in ("live", "pending"))


def register(sub: argparse._SubParsersAction) -> None:
    examples = sub.add_parser("examples", help="labelled customer messages: import, list, export")
    verbs = examples.add_subparsers(dest="action", required=True)
    importing = verbs.add_parser("import", help="add labelled messages from a CSV (text,intent), "
                                                "then retrain")
    importing.add_argument("csv")
    importing.add_argument("--json", action="store_true")
    importing.set_defaults(func=cmd_import)
    listing = verbs.add_parser("list", help="the labels, newest first (text masked)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)
    export = verbs.add_parser("export", help="every label as CSV (text,intent) or --json")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=cmd_export)

"""Reading `concierge examples import` files: a UTF-8 CSV with columns `text,intent`.

`intent` is an intent label, an article id or `out_of_scope`; the labels are checked by
the learning service against the pack. A file that cannot be used gets one line saying
why (naming the file, and the line for a bad row) and nothing is imported.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.learning.labels import LabelError

COLUMNS = ("text", "intent")
MAX_ROWS = 100_000


def read_examples(path: Path) -> list[tuple[str, str]]:
    """(text, label) rows, in file order; LabelError for a file that cannot be used."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            found = [name.strip() for name in reader.fieldnames or []]
            if missing := [c for c in COLUMNS if c not in found]:
                raise LabelError(f"{path}: needs columns text,intent; missing "
                                 f"{', '.join(missing)} (found: {', '.join(found) or 'none'})")
            reader.fieldnames = found
            rows = []
            for row in reader:
                if len(rows) >= MAX_ROWS:
                    raise LabelError(f"{path}: more than {MAX_ROWS:,} rows; split the file")
                rows.append((row.get("text") or "", (row.get("intent") or "").strip()))
    except FileNotFoundError:
        raise LabelError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LabelError(f"{path}: is a folder, not a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LabelError(f"{path}: not a readable UTF-8 CSV ({exc})") from None
    if not rows:
        raise LabelError(f"{path}: no rows to import")
    return rows

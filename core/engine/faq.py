"""FAQ exports read as rows: question, answer, optional category and extra questions.

A CSV (comma, semicolon or tab separated, with a header row) or a JSON list of objects,
either at the top, under one key (`{"faqs": [...]}`), or grouped by category
(`{"Cards": [...], "Payments": [...]}`). Field names are matched loosely (`Question`,
`extra questions`, ...); extra questions are a JSON list, or one text split on new lines
or `|`. Bad rows are refused with the file and the row named, never skipped silently.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

from core.engine.datapack import DataPackError, read_text

FIELDS = {
    "id": ("id", "slug", "article_id"),
    "question": ("question", "q", "title", "faq"),
    "answer": ("answer", "a", "body", "content", "response"),
    "category": ("category", "section", "topic", "group"),
    "questions": ("questions", "extra_questions", "alternative_questions", "alternatives",
                  "variations", "paraphrases", "synonyms"),
}
Row = tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]
"""Where (row N), id (may be empty), question, answer, extra questions, tags."""


class FaqError(ValueError):
    """The FAQ file or one of its rows cannot be used; the message names both."""


def _key(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _columns(path: Path, names: list[str]) -> dict[str, str]:
    """Our field -> the source's column name, for the fields present."""
    found = {}
    for field, aliases in FIELDS.items():
        for name in names:
            if _key(name) in aliases:
                found[field] = name
                break
    missing = [f for f in ("question", "answer") if f not in found]
    if missing:
        have = ", ".join(str(n) for n in names) or "none"
        raise FaqError(f"{path}: no {' or '.join(repr(m) for m in missing)} column "
                       f"(columns: {have})")
    return found


def _extra(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"\n|\|", str(value or ""))
    return tuple(s for s in (str(i).strip() for i in items) if s)


def _row(path: Path, where: str, record: dict, columns: dict[str, str],
         category: str = "") -> Row:
    def get(field: str) -> object:
        return record.get(columns[field]) if field in columns else None

    question = str(get("question") or "").strip()
    answer = str(get("answer") or "").strip()
    for field, value in (("question", question), ("answer", answer)):
        if not value:
            raise FaqError(f"{path} {where}: empty {field}")
    category = str(get("category") or category or "").strip()
    return (where, str(get("id") or "").strip(), question, answer, _extra(get("questions")),
            (category,) if category else ())


def read_csv(path: Path, text: str) -> list[Row]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # long HTML answers
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        reader = csv.DictReader(text.splitlines(keepends=True), dialect=dialect)
        columns = _columns(path, list(reader.fieldnames or []))
        return [_row(path, f"row {n}", record, columns) for n, record in enumerate(reader, 2)]
    except csv.Error as exc:
        raise FaqError(f"{path}: not a readable CSV ({exc})") from None


def _records(data: object) -> list[tuple[str, object]]:
    """(category, record) pairs from the JSON shapes FAQ exports come in."""
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        items = next(iter(data.values()))
        if all(isinstance(i, dict) for i in items) and not any(
                _key(k) in FIELDS["question"] for k in data):
            return [("", item) for item in items]
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        return [(str(category), item) for category, items in data.items() for item in items]
    if isinstance(data, list):
        return [("", item) for item in data]
    return []


def read_json(path: Path, text: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FaqError(f"{path}: not valid JSON ({exc})") from None
    records = _records(data)
    if not records:
        raise FaqError(f"{path}: expected a list of {{\"question\": ..., \"answer\": ...}}")
    rows = []
    for n, (category, record) in enumerate(records, 1):
        if not isinstance(record, dict):
            raise FaqError(f"{path} item {n}: expected an object with a question and an answer")
        rows.append(_row(path, f"item {n}", record, _columns(path, list(record)), category))
    return rows


def read_faq(path: Path) -> list[Row]:
    """Every row of a FAQ export; duplicate questions are refused."""
    try:
        text = read_text(path)
    except DataPackError as exc:
        raise FaqError(str(exc)) from None
    rows = read_json(path, text) if path.suffix.lower() == ".json" else read_csv(path, text)
    if not rows:
        raise FaqError(f"{path}: no questions in this file")
    seen: dict[str, str] = {}
    for where, _, question, *_ in rows:
        key = " ".join(question.casefold().split())
        if key in seen:
            raise FaqError(f"{path} {where}: duplicate question {question!r} (also {seen[key]})")
        seen[key] = where
    return rows

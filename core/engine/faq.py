"""FAQ exports read as rows: question, answer, optional category and extra questions.

A CSV (comma, semicolon or tab separated, with a header row), a JSON document or JSON
Lines (one object per line). In JSON the questions are found wherever the export keeps
them: a list at the top, under a key beside paging fields (`{"articles": [...],
"next_page": ...}`, as help-centre APIs export them), grouped by category
(`{"Cards": [...], "Payments": [...]}`) or in groups that name themselves
(`[{"name": "Cards", "faqs": [...]}]`). Field names are matched loosely (`Question`,
`title`, `body`, `description`, `extra questions`, ...), the first alias present
winning; extra questions are a JSON list, or one text split on new lines or `|`.
Drafts (`"draft": true`, a `state` or `status` of draft, archived or unpublished) are
left out and counted. Bad rows are refused with the file and the row named, never
skipped silently.
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
    "question": ("question", "q", "title", "faq", "question_text", "subject", "heading",
                 "name"),
    "answer": ("answer", "a", "body", "content", "response", "answer_text", "text", "html",
               "body_html", "answer_html", "content_html", "description", "description_text",
               "answers"),
    "category": ("category", "section", "topic", "group", "category_name", "section_name",
                 "collection"),
    "questions": ("questions", "extra_questions", "alternative_questions", "alternatives",
                  "variations", "paraphrases", "synonyms"),
}
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
FAQ_SUFFIXES = (".csv", *JSON_SUFFIXES)
Row = tuple[str, str, str, str, tuple[str, ...], tuple[str, ...]]
"""Where (row N), id (may be empty), question, answer, extra questions, tags."""


class FaqError(ValueError):
    """The FAQ file or one of its rows cannot be used; the message names both."""


def _key(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _columns(path: Path, names: list[str]) -> dict[str, tuple[str, ...]]:
    """Our field -> the source's columns that may hold it, in the order of its aliases."""
    keys: dict[str, str] = {}
    for name in names:
        keys.setdefault(_key(name), name)
    found = {field: present for field, aliases in FIELDS.items()
             if (present := tuple(keys[alias] for alias in aliases if alias in keys))}
    missing = [f for f in ("question", "answer") if f not in found]
    if missing:
        have = ", ".join(str(n) for n in names) or "none"
        raise FaqError(f"{path}: no {' or '.join(repr(m) for m in missing)} column "
                       f"(columns: {have})")
    return found


def _extra(value: object) -> tuple[str, ...]:
    items = value if isinstance(value, list) else re.split(r"\n|\|", str(value or ""))
    return tuple(s for s in (str(i).strip() for i in items) if s)


def _row(path: Path, where: str, record: dict, columns: dict[str, tuple[str, ...]],
         category: str = "") -> Row:
    def get(field: str) -> object:  # the first of its columns with a value
        values = (record.get(name) for name in columns.get(field, ()))
        return next((v for v in values if v not in (None, "", [])), None)

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


WRAPPERS = {"articles", "faqs", "faq", "items", "data", "results", "records", "entries",
            "questions", "posts", "documents", "docs"}
"""Keys under which an export keeps its questions beside other data (paging, side-loads)."""
DRAFT = {"draft", "archived", "unpublished"}
MAX_DEPTH = 8


def _has(record: dict, field: str) -> bool:
    return any(_key(name) in FIELDS[field] for name in record)


def _holds_records(value: object) -> bool:
    return isinstance(value, list) and any(
        isinstance(item, dict) and _has(item, "question") and _has(item, "answer")
        for item in value)


def _is_group(item: object) -> bool:
    """An object holding a list of questions (a category with its FAQs), not one itself."""
    return isinstance(item, dict) and any(_holds_records(v) for v in item.values())


def _group_name(group: dict) -> str:
    for alias in ("name", "title", "category", "section", "topic", "heading"):
        for name, value in group.items():
            if _key(name) == alias and isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def _records(data: object, category: str = "", depth: int = 0) -> list[tuple[str, object]]:
    """(category, record) pairs from wherever the export keeps its questions."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(data, list):
        if _holds_records(data) and not any(_is_group(item) for item in data):
            return [(category, item) for item in data]  # a bad item is refused by its row
        return [pair for item in data if isinstance(item, dict)
                for pair in _records(item, _group_name(item) or category, depth + 1)]
    if not isinstance(data, dict):
        return []
    found = {key: pairs for key, value in data.items() if isinstance(value, (list, dict))
             and (pairs := _records(value, category, depth + 1))}
    wrapped = [key for key in found if _key(key) in WRAPPERS]
    if wrapped or len(found) == 1:
        return [pair for key in (wrapped or found) for pair in found[key]]
    return [(str(key) if inner == category else inner, record)  # keys name the categories
            for key, pairs in found.items() for inner, record in pairs]


def is_draft(record: dict) -> bool:
    """Whether an exported article is not published (its export says draft or archived)."""
    for name, value in record.items():
        key = _key(name)
        if key == "draft" and value is True:
            return True
        if key in ("state", "status") and isinstance(value, str) and value.lower() in DRAFT:
            return True
    return False


def _parsed(path: Path, text: str) -> object:
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FaqError(f"{path}: not valid JSON ({exc})") from None
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise FaqError(f"{path} line {n}: not valid JSON ({exc.msg})") from None
    return items


def read_json(path: Path, text: str) -> tuple[list[Row], int]:
    """The rows of a JSON (or JSON Lines) export, and how many drafts were left out."""
    records = _records(_parsed(path, text))
    if not records:
        raise FaqError(f"{path}: expected a list of {{\"question\": ..., \"answer\": ...}}")
    rows, drafts = [], 0
    for n, (category, record) in enumerate(records, 1):
        if not isinstance(record, dict):
            raise FaqError(f"{path} item {n}: expected an object with a question and an answer")
        if is_draft(record):
            drafts += 1
            continue
        rows.append(_row(path, f"item {n}", record, _columns(path, list(record)), category))
    return rows, drafts


def read_faq(path: Path) -> tuple[list[Row], int]:
    """Every row of a FAQ export, and the drafts left out; duplicate questions are refused."""
    try:
        text = read_text(path)
    except DataPackError as exc:
        raise FaqError(str(exc)) from None
    rows, drafts = (read_json(path, text) if path.suffix.lower() in JSON_SUFFIXES
                    else (read_csv(path, text), 0))
    if not rows:
        raise FaqError(f"{path}: no published questions in this file" if drafts
                       else f"{path}: no questions in this file")
    seen: dict[str, str] = {}
    for where, _, question, *_ in rows:
        key = " ".join(question.casefold().split())
        if key in seen:
            raise FaqError(f"{path} {where}: duplicate question {question!r} (also {seen[key]})")
        seen[key] = where
    return rows, drafts

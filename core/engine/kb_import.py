"""`concierge kb import`: a data pack built from what a company's help centre exports.

The source is a folder of articles (Markdown, HTML or plain-text files, one article each;
the title is the front matter's, the first heading, the page's `<title>` or the first
line) or a FAQ file (CSV or JSON: question, answer, optional category and extra-questions
fields). Every article becomes its own intent, so the pack needs no `intents/` folder.
The pack is written to a temporary folder beside the target, loaded back with the same
checks the engine runs, and only then renamed into place: a failed import leaves nothing
half-written. Bad input gets one line naming the file (and the row).
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from re import compile as regex

import yaml

from core.engine.datapack import FRONT_MATTER, DataPackError, load_datapack, read_text
from core.engine.faq import FAQ_SUFFIXES, FaqError, read_faq
from core.engine.markup import clean_markdown, html_to_markdown


class KbImportError(ValueError):
    """The source cannot be imported; the message names the file (and row)."""


@dataclass(frozen=True)
class Entry:
    """One article to write: where it came from, and its front matter and body."""

    source: str
    id: str
    title: str
    body: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


ARTICLE_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".html": "html",
                    ".htm": "html", ".txt": "text"}
_ATX = regex(r"^#{1,6}\s+(.+?)\s*#*\s*$")
_SETEXT = regex(r"^(=+|-+)\s*$")


def slug(text: str) -> str:
    """A stable id from a name: lower case, words joined by '-' (letters of any script)."""
    words = regex(r"[\W_]+").sub("-", unicodedata.normalize("NFKC", text).lower())
    return words.strip("-")[:80].rstrip("-")


def first_heading(markdown: str) -> str:
    lines = markdown.split("\n")
    for i, line in enumerate(lines):
        if match := _ATX.match(line.strip()):
            return match.group(1).strip()
        if line.strip() and i + 1 < len(lines) and _SETEXT.match(lines[i + 1].strip()):
            return line.strip()
    return ""


def _front_matter(path: Path, text: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        raise KbImportError(f"{path}: front matter is not valid YAML") from None
    return (meta if isinstance(meta, dict) else {}), text[match.end():]


def _listed(value: object) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return tuple(str(v).strip() for v in values if str(v).strip())


def read_article(path: Path, root: Path) -> Entry:
    """One file of a help-centre export as an article (its id from its file name)."""
    try:
        text = read_text(path)
    except DataPackError as exc:
        raise KbImportError(str(exc)) from None
    kind = ARTICLE_SUFFIXES[path.suffix.lower()]
    meta: dict = {}
    if kind == "html":
        title, body = html_to_markdown(text)
    elif kind == "markdown":
        meta, body = _front_matter(path, text)
        body = clean_markdown(body)
        title = str(meta.get("title") or "").strip() or first_heading(body)
    else:
        lines = text.strip().split("\n", 1)
        title, body = lines[0].strip(), (lines[1] if len(lines) > 1 else "").strip()
    name = path.relative_to(root).with_suffix("").as_posix()
    title = title or path.stem.replace("-", " ").replace("_", " ")
    if not body.strip() or body.strip() == f"# {title}":
        raise KbImportError(f"{path}: the article has no text")
    if not body.lstrip().startswith("#"):
        body = f"# {title}\n\n{body.strip()}"
    article_id = str(meta.get("id") or "").strip() or slug(name)
    return Entry(str(path), article_id, title, body.strip(), _listed(meta.get("questions")),
                 _listed(meta.get("tags")))


def read_folder(folder: Path) -> list[Entry]:
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in ARTICLE_SUFFIXES
                   and not any(part.startswith(".") for part in p.relative_to(folder).parts))
    if not files:
        raise KbImportError(f"{folder}: no .md, .html or .txt articles in this folder")
    return [read_article(path, folder) for path in files]


def read_source(source: Path) -> tuple[list[Entry], int]:
    """The articles to write, and how many of the source's drafts were left out."""
    if source.is_dir():
        return read_folder(source), 0
    if not source.exists():
        raise KbImportError(f"{source}: no such file or folder")
    if source.suffix.lower() not in FAQ_SUFFIXES:
        raise KbImportError(f"{source}: import a folder of articles, "
                            "or a FAQ as .csv, .json or .jsonl")
    try:
        rows, drafts = read_faq(source)
    except FaqError as exc:
        raise KbImportError(str(exc)) from None
    entries, taken = [], {row[1] for row in rows}
    for where, row_id, question, answer, extra, tags in rows:
        article_id = row_id or slug(question)
        if not row_id:  # two questions may slug alike: number the later ones
            base, n = article_id, 1
            while article_id in taken and n < 10_000:
                n += 1
                article_id = f"{base}-{n}"
            taken.add(article_id)
        entries.append(Entry(f"{source} {where}", article_id, question,
                             f"# {question}\n\n{clean_markdown(answer)}", extra, tags))
    return entries, drafts


def check_unique(entries: list[Entry]) -> None:
    seen: dict[str, Entry] = {}
    for entry in entries:
        if not entry.id:
            raise KbImportError(f"{entry.source}: cannot make an id from '{entry.title}'")
        if entry.id in seen:
            raise KbImportError(f"{entry.source}: duplicate id '{entry.id}' "
                                f"(also {seen[entry.id].source})")
        seen[entry.id] = entry


def article_text(entry: Entry) -> str:
    meta: dict = {"id": entry.id, "title": entry.title}
    if entry.tags:
        meta["tags"] = list(entry.tags)
    if entry.questions:
        meta["questions"] = list(entry.questions)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n{entry.body}\n"


def write_pack(entries: list[Entry], out: Path, *, replace: bool = False) -> None:
    """Write the pack beside `out`, check it loads, then move it into place."""
    if out.exists() and not out.is_dir():
        raise KbImportError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not replace:
        raise KbImportError(f"{out}: folder is not empty; choose another or pass --replace")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / "kb").mkdir()
        for n, entry in enumerate(entries, 1):  # the id may hold any character: not the name
            name = f"{n:04d}-{slug(entry.id)[:60]}.md"
            (staging / "kb" / name).write_text(article_text(entry), encoding="utf-8")
        try:
            load_datapack(staging)
        except DataPackError as exc:
            raise KbImportError(f"the imported pack does not load: {exc}") from None
        if out.exists():
            old = staging.with_name(staging.name + ".old")
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def import_kb(source: Path, out: Path, *, replace: bool = False) -> dict:
    """Import `source` into a new pack at `out`; what was written."""
    entries, drafts = read_source(source)
    if len(entries) < 2:
        raise KbImportError(f"{source}: a pack needs at least two articles")
    check_unique(entries)
    write_pack(entries, out, replace=replace)
    return {"out": str(out), "articles": len(entries),
            "questions": sum(len(e.questions) for e in entries), "drafts_left_out": drafts,
            "next": f"CONCIERGE_DATA_DIR={out.resolve()} make run"}

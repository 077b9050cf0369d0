"""Data packs: the intents' example messages and the knowledge-base articles.

A pack is a folder with `intents/*.json` (label -> example messages) and `kb/*.md`
(Markdown articles with YAML front matter: id, title, intents, tags). Loading checks the
pack is coherent, so a broken pack fails at start-up with a message naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from agents.retrieval import Article


class DataPackError(ValueError):
    """The data pack is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class DataPack:
    """Everything the engine is trained and grounded on."""

    examples: list[tuple[str, str]]
    articles: list[Article]


def parse_article(path: Path) -> Article:
    """One article: `---` YAML front matter `---`, then Markdown."""
    text = path.read_text(encoding="utf-8")
    parts = text.split("---", 2)
    if not text.startswith("---") or len(parts) < 3:
        raise DataPackError(f"{path}: missing '---' front matter")
    try:
        meta = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as exc:
        raise DataPackError(f"{path}: front matter is not valid YAML ({exc})") from None
    missing = {"id", "title", "intents"} - set(meta)
    if missing:
        raise DataPackError(f"{path}: front matter lacks {', '.join(sorted(missing))}")
    return Article(
        id=str(meta["id"]),
        title=str(meta["title"]),
        intents=tuple(str(i) for i in meta["intents"]),
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        body=parts[2].strip(),
    )


def load_examples(folder: Path) -> list[tuple[str, str]]:
    examples: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataPackError(f"{path}: not valid JSON ({exc})") from None
        for label, texts in data.items():
            examples.extend((str(t), label) for t in texts if str(t).strip())
    return examples


def load_datapack(folder: Path) -> DataPack:
    """Load and check a pack: examples and articles present, article ids unique, and every
    intent an article names has examples."""
    if not (folder / "intents").is_dir() or not (folder / "kb").is_dir():
        raise DataPackError(f"{folder}: a data pack needs intents/ and kb/ folders")
    examples = load_examples(folder / "intents")
    articles = [parse_article(p) for p in sorted((folder / "kb").glob("*.md"))]
    ids = [a.id for a in articles]
    if len(ids) != len(set(ids)):
        raise DataPackError(f"{folder}: duplicate article ids")
    labels = {label for _, label in examples}
    covered = {i for a in articles for i in a.intents}
    if unknown := covered - labels:
        raise DataPackError(f"{folder}: articles name intents with no examples: {sorted(unknown)}")
    if not examples or not articles:
        raise DataPackError(f"{folder}: the pack has no examples or no articles")
    return DataPack(examples=examples, articles=articles)


def training_examples(pack: DataPack,
                      labelled: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """What the intent model trains on: the pack's examples plus the live labelled ones
    (reviewed or imported customer messages, as (text, intent); see core.learning)."""
    return [*pack.examples, *labelled]

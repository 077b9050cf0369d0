"""Data packs: knowledge-base articles and, optionally, intents' example messages.

A pack is a folder with `kb/*.md` (Markdown articles with YAML front matter: id, title,
and optionally intents, questions, tags) and, optionally, `intents/*.json` (label ->
example messages). An article without `intents:` is its own intent, named by its id;
its title, its summary and its `questions:` are examples of that intent, so a help centre's articles
alone make a pack (an intent with examples in `intents/` gets the questions, not the
title). Out-of-scope examples are optional: `intents/out_of_scope.json` or an
`out_of_scope.json` at the pack's top. Loading checks the pack is coherent, so a broken
pack fails at start-up with a one-line message naming the file.

A help centre has no article for "hi", "thanks", "bye" or "can I talk to a person", yet
customers say them in every chat: a pack without those intents gets Concierge's own
(`CONVERSATION_INTENTS`: greeting, thanks, goodbye, human_agent), so an imported FAQ
greets, says goodbye and hands off to a person like the demo does. A pack's own examples
of any of them replace Concierge's for that intent.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from agents.intent import OUT_OF_SCOPE
from agents.retrieval import Article, split_sections
from core.engine.markup import clean_markdown

CONVERSATION_INTENTS = Path(__file__).with_name("conversation_intents.json")
"""Concierge's own examples of the conversation's intents, general wording (no domain)."""


class DataPackError(ValueError):
    """The data pack is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class DataPack:
    """Everything the engine is trained and grounded on."""

    examples: list[tuple[str, str]]
    articles: list[Article]
    general: tuple[str, ...] = ()
    """The intents whose examples are Concierge's own (`conversation_examples`), not the
    pack's: learnt, but not what the pack's threshold is calibrated on."""

    @functools.cached_property
    def training_options(self) -> dict[str, list]:
        """What the intent model learns from the pack beside its examples: the `general`
        intents, and `context`: the sections after the summary of each one-intent article,
        which describe its intent in the help centre's words (`agents.intent_training.train`)."""
        context = [[f"{section.heading} {section.text}".strip(), article.intents[0]]
                   for article in self.articles if len(article.intents) == 1
                   for section in split_sections(article)[1:]]
        options: dict[str, list] = {"general": list(self.general), "context": context}
        return {name: value for name, value in options.items() if value}

    @property
    def intents(self) -> list[str]:
        """Every intent the model can predict (with out_of_scope when the pack has examples)."""
        return sorted({label for _, label in self.examples})

    def article_for(self, intent: str) -> Article | None:
        """The first article that answers `intent`, if any."""
        return next((a for a in self.articles if intent in a.intents), None)


FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)


def _strings(path: Path, meta: dict, key: str) -> tuple[str, ...]:
    """A front-matter list of strings (a single string counts as a list of one)."""
    value = meta.get(key) or ()
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, list | tuple) or not all(
            isinstance(v, str | int | float) for v in value):
        raise DataPackError(f"{path}: front matter '{key}' must be a list of texts")
    return tuple(s for s in (str(v).strip() for v in value) if s)


def read_text(path: Path) -> str:
    """A file's UTF-8 text (a byte-order mark and Windows line ends are fine)."""
    try:
        return path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise DataPackError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise DataPackError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def parse_article_file(path: Path) -> tuple[Article, tuple[str, ...]]:
    """One article and its `questions:`: `---` YAML front matter `---`, then Markdown.

    Only the first `---` block is front matter: horizontal rules in the body stay.
    """
    match = FRONT_MATTER.match(read_text(path))
    if not match:
        raise DataPackError(f"{path}: missing '---' front matter")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        problem = str(exc).replace("\n", " ")
        raise DataPackError(f"{path}: front matter is not valid YAML ({problem})") from None
    if not isinstance(meta, dict):
        raise DataPackError(f"{path}: front matter must be 'key: value' lines")
    missing = sorted(k for k in ("id", "title") if not str(meta.get(k) or "").strip())
    if missing:
        raise DataPackError(f"{path}: front matter lacks {', '.join(missing)}")
    article_id = str(meta["id"]).strip()
    intents = _strings(path, meta, "intents") or (article_id,)
    questions = _strings(path, meta, "questions")
    if questions and len(intents) != 1:
        raise DataPackError(f"{path}: 'questions' needs an article with exactly one intent")
    body = clean_markdown(match.string[match.end():])
    if not body:
        raise DataPackError(f"{path}: the article has no text after its front matter")
    article = Article(id=article_id, title=str(meta["title"]).strip(), intents=intents,
                      tags=_strings(path, meta, "tags"), body=body)
    return article, questions


def parse_article(path: Path) -> Article:
    return parse_article_file(path)[0]


def _json(path: Path) -> object:
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataPackError(f"{path}: not valid JSON ({exc})") from None


def _texts(path: Path, label: str, texts: object) -> list[tuple[str, str]]:
    if not isinstance(texts, list):
        raise DataPackError(f"{path}: '{label}' must map to a list of example messages")
    return [(str(t).strip(), label) for t in texts if str(t).strip()]


def load_examples(folder: Path) -> list[tuple[str, str]]:
    return [example for path in sorted(folder.glob("*.json"))
            for example in load_examples_file(path)]


def load_examples_file(path: Path) -> list[tuple[str, str]]:
    """One `{"intent": ["example", ...]}` file."""
    data = _json(path)
    if not isinstance(data, dict):
        raise DataPackError(f"{path}: expected {{\"intent\": [\"example\", ...]}}")
    return [example for label, texts in data.items() for example in _texts(path, str(label), texts)]


def load_out_of_scope(path: Path) -> list[tuple[str, str]]:
    """A top-level `out_of_scope.json`: a list of messages, or {"out_of_scope": [...]}."""
    data = _json(path)
    if isinstance(data, dict) and set(data) == {OUT_OF_SCOPE}:
        data = data[OUT_OF_SCOPE]
    return _texts(path, OUT_OF_SCOPE, data)


def article_examples(path: Path, article: Article, questions: tuple[str, ...],
                     curated: set[str]) -> list[tuple[str, str]]:
    """The questions of a one-intent article are examples of that intent, and so are its
    title and its summary (the text before its first subheading) unless `intents/`
    already has examples of it (written for the purpose, they say more than a title, and
    they are what an evaluation checks the pack against).

    The summary matters when the title is the only phrasing: on the demo pack's articles
    alone it raised right answers on BANKING77 test from 34% to 48% (title only: one
    example per intent leaves the threshold nothing to learn from)."""
    if OUT_OF_SCOPE in article.intents:
        raise DataPackError(f"{path}: an article cannot answer '{OUT_OF_SCOPE}'")
    if len(article.intents) != 1:
        return []
    intent = article.intents[0]
    own = () if intent in curated else (article.title, *_summary(article))
    return [(text, intent) for text in (*own, *questions)]


def _summary(article: Article) -> tuple[str, ...]:
    """The article's first section as one example, when it says more than the title."""
    sections = split_sections(article)
    text = sections[0].text if sections else ""
    return (text,) if text and text.strip().lower() != article.title.strip().lower() else ()


def load_datapack(folder: Path) -> DataPack:
    """Load and check a pack: articles, and every intent with at least one example."""
    if not (folder / "kb").is_dir():
        raise DataPackError(f"{folder}: a data pack needs a kb/ folder of Markdown articles")
    examples = load_examples(folder / "intents") if (folder / "intents").is_dir() else []
    curated = {label for _, label in examples}
    if (folder / "out_of_scope.json").is_file():
        examples += load_out_of_scope(folder / "out_of_scope.json")
    articles: list[Article] = []
    seen: dict[str, Path] = {}
    for path in sorted((folder / "kb").glob("*.md")):
        article, questions = parse_article_file(path)
        if article.id in seen:
            raise DataPackError(f"{path}: article id '{article.id}' is also used by {seen[article.id].name}")
        seen[article.id] = path
        articles.append(article)
        examples += article_examples(path, article, questions, curated)
    if not articles:
        raise DataPackError(f"{folder / 'kb'}: no .md articles")
    labels = {label for _, label in examples}
    for article in articles:
        if unknown := set(article.intents) - labels:
            raise DataPackError(f"{seen[article.id]}: intents with no examples: {sorted(unknown)}"
                                " (add them to intents/ or give each its own article)")
    if len(labels - {OUT_OF_SCOPE}) < 2:
        raise DataPackError(f"{folder}: the pack needs at least two intents (or two articles)")
    general = conversation_examples(labels | {article.id for article in articles})
    return DataPack(examples=list(dict.fromkeys(examples + general)), articles=articles,
                    general=tuple(sorted({label for _, label in general})))


def conversation_examples(taken: set[str]) -> list[tuple[str, str]]:
    """Concierge's examples of the conversation's intents (greeting, thanks, goodbye,
    human_agent) that are not in `taken`, the pack's own intents and articles."""
    return [(text, label) for text, label in load_examples_file(CONVERSATION_INTENTS)
            if label not in taken]


def training_examples(pack: DataPack,
                      labelled: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """What the intent model trains on: the pack's examples plus the live labelled ones
    (reviewed or imported customer messages, as (text, intent); see core.learning)."""
    return [*pack.examples, *labelled]

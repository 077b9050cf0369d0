"""The shipped demo pack: complete, coherent, and free of BANKING77 text."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

import pytest

from core.config import Settings
from core.engine.datapack import DataPackError, load_datapack, parse_article
from tests.conftest import need_banking77

EXTRA_INTENTS = {"greeting", "goodbye", "thanks", "human_agent", "complaint"}


@pytest.fixture(scope="module")
def pack():
    return load_datapack(Settings().data_dir)


def test_every_intent_has_examples_and_one_article(pack) -> None:
    counts = Counter(label for _, label in pack.examples)
    banking = set(json.loads((need_banking77() / "categories.json").read_text()))
    assert set(counts) == banking | EXTRA_INTENTS | {"out_of_scope"}
    assert min(counts.values()) >= 15
    per_intent = Counter(i for a in pack.articles for i in a.intents)
    assert set(per_intent) == set(counts) - {"out_of_scope"}
    assert set(per_intent.values()) == {1}


def test_articles_open_with_a_direct_answer(pack) -> None:
    for article in pack.articles:
        assert article.body.startswith("# "), article.id
        lead = article.body.split("\n\n", 2)[1]
        assert len(lead) > 40 and not lead.startswith("#"), article.id


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def test_pack_contains_no_banking77_text(pack) -> None:
    folder = need_banking77()
    banking = set()
    for name in ("train.csv", "test.csv"):
        with (folder / name).open(newline="") as handle:
            banking |= {_norm(r["text"]) for r in csv.DictReader(handle)}
    copied = [t for t, _ in pack.examples if _norm(t) in banking]
    assert copied == []


def test_broken_article_is_reported_with_its_file(tmp_path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: [unclosed\n---\n# x")
    with pytest.raises(DataPackError, match="bad.md"):
        parse_article(bad)
    with pytest.raises(DataPackError, match="needs a kb/ folder"):
        load_datapack(tmp_path)

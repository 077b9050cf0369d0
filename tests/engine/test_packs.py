"""Packs beyond the demo: articles alone, articles mixed with intents, real help-centre
Markdown, and every kind of broken pack, each refused on one line naming its file."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from agents.retrieval import SECTION_CHARS, KnowledgeRetriever
from core.config import Settings
from core.engine.datapack import DataPack, DataPackError, load_datapack
from core.engine.engine import Engine, memory_checkpointer


def article(folder: Path, name: str, front: str, body: str = "# Title\n\nSome text.") -> Path:
    (folder / "kb").mkdir(parents=True, exist_ok=True)
    path = folder / "kb" / name
    path.write_text(f"---\n{front}\n---\n{body}\n", encoding="utf-8")
    return path


def own(pack: DataPack) -> list[tuple[str, str]]:
    """The pack's own examples, without Concierge's conversation intents."""
    return [example for example in pack.examples if example[1] not in pack.general]


def test_a_pack_without_conversation_intents_gets_concierges_own(tmp_path) -> None:
    """A help centre has no article for "hi", "thanks", "bye" or "a person"; a pack's own
    examples of one of them replace Concierge's for that intent."""
    article(tmp_path, "a.md", "id: returns\ntitle: How do I return an item?")
    article(tmp_path, "b.md", "id: delivery\ntitle: When will my order arrive?")
    pack = load_datapack(tmp_path)
    assert pack.general == ("goodbye", "greeting", "human_agent", "thanks")
    assert {"greeting", "thanks", "goodbye", "human_agent"} <= set(pack.intents)
    assert sum(1 for _, label in pack.examples if label == "human_agent") >= 20

    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "chat.json").write_text(json.dumps({"greeting": ["ahoy"]}))
    article(tmp_path, "c.md", "id: kb-hello\ntitle: Hello\nintents: [greeting]")
    pack = load_datapack(tmp_path)
    assert pack.general == ("goodbye", "human_agent", "thanks")
    assert [t for t, label in pack.examples if label == "greeting"] == ["ahoy"]


def test_sections_after_the_summary_describe_their_articles_intent(tmp_path) -> None:
    article(tmp_path, "a.md", "id: reset-password\ntitle: How do I reset my password?",
            "# Reset\n\nUse the link on the login page.\n\n## If no email comes\n\nCheck spam.")
    article(tmp_path, "b.md", "id: delivery-times\ntitle: When will my order arrive?",
            "Orders arrive in 3 to 5 working days.")
    options = load_datapack(tmp_path).training_options
    # the title and the summary are examples already: only later sections describe
    assert options["context"] == [["If no email comes Check spam.", "reset-password"]]
    assert options["general"] == ["goodbye", "greeting", "human_agent", "thanks"]


def test_articles_alone_are_their_own_intents(tmp_path) -> None:
    article(tmp_path, "a.md", "id: reset-password\ntitle: How do I reset my password?\n"
            "questions:\n  - I forgot my password\n  - cannot log in anymore",
            "# Reset\n\nUse the link on the login page.\n\n## If no email comes\n\nCheck spam.")
    article(tmp_path, "b.md", "id: delivery-times\ntitle: When will my order arrive?",
            "Orders arrive in 3 to 5 working days.")
    pack = load_datapack(tmp_path)
    assert [a.intents for a in pack.articles] == [("reset-password",), ("delivery-times",)]
    assert sorted(own(pack)) == sorted([  # title, summary (text before a subheading), questions
        ("How do I reset my password?", "reset-password"),
        ("Use the link on the login page.", "reset-password"),
        ("I forgot my password", "reset-password"),
        ("cannot log in anymore", "reset-password"),
        ("When will my order arrive?", "delivery-times"),
        ("Orders arrive in 3 to 5 working days.", "delivery-times"),
    ])
    assert pack.article_for("delivery-times").title == "When will my order arrive?"


def test_a_mixed_pack_has_intents_with_many_one_and_no_examples(tmp_path) -> None:
    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "cards.json").write_text(json.dumps(
        {"lost_card": ["i lost my card", "my card is gone", "card missing"], "unused": []}))
    article(tmp_path, "lost.md", "id: kb-lost\ntitle: I lost my card\nintents: [lost_card]\n"
            "questions: [someone stole my card]")
    article(tmp_path, "pin.md", "id: kb-pin\ntitle: How do I change my PIN?\nintents: [change_pin]")
    article(tmp_path, "fees.md", "id: kb-fees\ntitle: What are the fees?")
    (tmp_path / "out_of_scope.json").write_text(json.dumps(["what is the weather like"]))
    pack = load_datapack(tmp_path)
    counts = {i: sum(1 for _, label in own(pack) if label == i) for i in pack.intents
              if i not in pack.general}
    # an intent with examples keeps them; one with none gets its title and its summary
    assert counts == {"lost_card": 4, "change_pin": 2, "kb-fees": 2, "out_of_scope": 1}
    assert ("How do I change my PIN?", "change_pin") in pack.examples
    assert ("someone stole my card", "lost_card") in pack.examples
    assert ("I lost my card", "lost_card") not in pack.examples


HELP_CENTRE = """# Paying abroad — frais à l'étranger

Card payments abroad are free. Ça marche partout où Mastercard est accepté.

---

<div class="callout"><p>Tip: choose the <b>local currency</b> at the terminal.</p></div>

| Currency | Fee |
| --- | --- |
| EUR | 0% |
| USD | 0% |

Withdrawals:<br>free up to £200 a month.
<!-- internal: reviewed by legal -->
"""


def test_real_help_centre_markdown_loads_and_reads_plain(tmp_path) -> None:
    long_body = "# Everything about transfers\n\nThe short answer first.\n\n" + "\n\n".join(
        f"## Section {n}\n\n" + "Transfers take a working day. " * 40 for n in range(30))
    article(tmp_path, "abroad.md", "id: abroad\ntitle: Paying abroad\ntags: [cards]",
            HELP_CENTRE)
    article(tmp_path, "transfers.md", "id: transfers\ntitle: Transfers", long_body)
    pack = load_datapack(tmp_path)
    body = pack.articles[0].body
    assert "\n---\n" in body  # a horizontal rule is not front matter
    assert "| EUR | 0% |" in body and "frais à l'étranger" in body
    assert "<" not in body and "internal" not in body
    assert "**local currency**" in body
    sections = KnowledgeRetriever(pack.articles).sections
    assert sum(s.article.id == "transfers" for s in sections) == 31


def test_a_long_article_without_headings_is_cut_into_passages(tmp_path) -> None:
    paragraphs = [f"Paragraph {n}. " + "Refunds reach your card in five days. " * 12
                  for n in range(40)]
    article(tmp_path, "long.md", "id: long\ntitle: Refunds", "\n\n".join(paragraphs))
    article(tmp_path, "short.md", "id: short\ntitle: Short", "# Short\n\nA short one.")
    sections = [s for s in KnowledgeRetriever(load_datapack(tmp_path).articles).sections
                if s.article.id == "long"]
    assert len(sections) > 10 and max(len(s.text) for s in sections) <= SECTION_CHARS
    assert sections[0].text.startswith("Paragraph 0.") and "Paragraph 39." in sections[-1].text


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("plain.md", "# No front matter\n\ntext", "missing '---' front matter"),
        ("yaml.md", "---\ntitle: [unclosed\n---\n# x", "not valid YAML"),
        ("list.md", "---\n- a\n- b\n---\n# x", "key: value"),
        ("noid.md", "---\ntitle: T\n---\n# x", "lacks id"),
        ("notitle.md", "---\nid: x\ntitle: ''\n---\n# x", "lacks title"),
        ("intents.md", "---\nid: x\ntitle: T\nintents: {a: 1}\n---\n# x", "'intents' must be a list"),
        ("questions.md", "---\nid: x\ntitle: T\nintents: [a, b]\nquestions: [q]\n---\n# x",
         "exactly one intent"),
        ("empty.md", "---\nid: x\ntitle: T\n---\n\n", "no text"),
        ("oos.md", "---\nid: x\ntitle: T\nintents: [out_of_scope]\n---\n# x", "cannot answer"),
        ("multi.md", "---\nid: x\ntitle: T\nintents: [a, b]\n---\n# x", "intents with no examples"),
    ],
)
def test_a_broken_article_is_named_on_one_line(tmp_path, name, content, says) -> None:
    article(tmp_path, "good.md", "id: good\ntitle: A good article")
    (tmp_path / "kb" / name).write_text(content, encoding="utf-8")
    with pytest.raises(DataPackError, match=says) as caught:
        load_datapack(tmp_path)
    assert name in str(caught.value) and "\n" not in str(caught.value)


def test_other_broken_packs_are_named(tmp_path) -> None:
    with pytest.raises(DataPackError, match="needs a kb/ folder"):
        load_datapack(tmp_path)
    article(tmp_path, "one.md", "id: one\ntitle: The only article")
    with pytest.raises(DataPackError, match="at least two intents"):
        load_datapack(tmp_path)
    article(tmp_path, "two.md", "id: one\ntitle: Same id")
    with pytest.raises(DataPackError, match="two.md: article id 'one' is also used by one.md"):
        load_datapack(tmp_path)
    (tmp_path / "kb" / "two.md").write_bytes(b"---\nid: two\ntitle: caf\xe9\n---\n# x")
    with pytest.raises(DataPackError, match="two.md: not UTF-8"):
        load_datapack(tmp_path)
    (tmp_path / "kb" / "two.md").unlink()
    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "x.json").write_text('["not", "a", "map"]')
    with pytest.raises(DataPackError, match="x.json: expected"):
        load_datapack(tmp_path)
    (tmp_path / "intents" / "x.json").write_text('{"a": "not a list"}')
    with pytest.raises(DataPackError, match="x.json: 'a' must map to a list"):
        load_datapack(tmp_path)


def test_a_mixed_pack_trains_and_answers_from_the_right_article(tmp_path, model_dir) -> None:
    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "cards.json").write_text(json.dumps({"lost_card": [
        "i lost my card", "my card is gone", "i cannot find my card anywhere",
        "someone took my card", "card missing from my wallet", "i dropped my card"]}))
    article(tmp_path, "lost.md", "id: kb-lost\ntitle: Lost or stolen card\nintents: [lost_card]",
            "# Lost or stolen card\n\nFreeze your card in the app, then order a new one.")
    article(tmp_path, "pin.md", "id: kb-pin\ntitle: How do I change my PIN?",
            "# How do I change my PIN?\n\nChange your PIN at any ATM under PIN services.")
    article(tmp_path, "fees.md", "id: kb-fees\ntitle: What fees do you charge?\n"
            "questions: [is the account free, how much does a transfer cost]",
            "# What fees do you charge?\n\nThe account is free; transfers abroad cost 1%.")
    article(tmp_path, "hours.md", "id: kb-hours\ntitle: When is support open?",
            "# When is support open?\n\nOur agents chat from 8:00 to 22:00 every day.")
    settings = Settings(data_dir=tmp_path, state_dir=tmp_path / "state", model_dir=model_dir)
    engine = Engine.load(settings, checkpointer=memory_checkpointer())
    for text, expected in [("I lost my card", "kb-lost"), ("how do I change my PIN", "kb-pin"),
                           ("what fees do you charge for a transfer", "kb-fees"),
                           ("when is support open", "kb-hours")]:
        state = engine.run_turn(uuid.uuid4().hex, text)
        assert state["route"] == "answer", (text, state["intent"], state["confidence"])
        assert state["sources"][0]["id"] == expected, text

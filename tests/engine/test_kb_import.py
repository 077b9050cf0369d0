"""`concierge kb import`: help-centre folders and FAQ files become packs that load and
answer; bad input is refused on one line and leaves nothing behind."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from core.config import Settings
from core.engine.datapack import load_datapack
from core.engine.engine import Engine, memory_checkpointer
from core.engine.kb_import import KbImportError, import_kb
from tests.cli.test_cli import concierge


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_of_markdown_html_and_text_becomes_a_pack(tmp_path) -> None:
    src = tmp_path / "export"
    write(src / "cards" / "lost-card.md", "# Lost your card?\n\nFreeze it in the app.\n\n---\n\nThen order a new one.")
    write(src / "Reset PIN.md", "Reset your PIN\n==============\n\nAt any ATM.")
    write(src / "fm.md", "---\ntitle: Fees\nquestions: [how much does it cost]\n---\nNo fees, ever.")
    write(src / "refunds.html", "<html><head><title>Refunds</title></head><body><nav>Home</nav>"
          "<h1>Refunds</h1><p>Refunds take <b>5 days</b>.</p><script>x()</script></body></html>")
    write(src / "hours.txt", "Opening hours\nWe chat from 8 to 22, every day.")
    write(src / "site" / "pay.htm", "<title>Pay abroad | Acme Help</title><h1>Paying abroad</h1>"
          "<p>Free.</p>")
    write(src / "site" / "plain.htm", "<title>Plain page</title><p>No heading here.</p>")
    write(src / ".hidden" / "skip.md", "# skipped")
    write(src / "notes.docx", "not an article")
    result = import_kb(src, tmp_path / "pack")
    assert result["articles"] == 7 and result["questions"] == 1
    pack = load_datapack(tmp_path / "pack")
    titles = {a.id: a.title for a in pack.articles}
    assert titles == {"cards-lost-card": "Lost your card?", "reset-pin": "Reset your PIN",
                      "fm": "Fees", "refunds": "Refunds", "hours": "Opening hours",
                      "site-pay": "Paying abroad", "site-plain": "Plain page"}
    bodies = {a.id: a.body for a in pack.articles}
    assert "Then order a new one." in bodies["cards-lost-card"]
    assert bodies["refunds"] == "# Refunds\n\nRefunds take **5 days**."
    assert bodies["hours"].startswith("# Opening hours\n\nWe chat")
    assert bodies["site-plain"] == "# Plain page\n\nNo heading here."
    assert ("how much does it cost", "fm") in pack.examples


FAQ_CSV = """Question;Answer;Category;Extra questions
How do I reset my password?;"Go to <b>Settings</b>, then Password.";Account;I forgot my password|locked out
Where is my parcel?;Track it under Orders > Track.;Orders;
"""


def test_faq_csv_and_json_become_one_article_per_question(tmp_path) -> None:
    import_kb(write(tmp_path / "faq.csv", FAQ_CSV), tmp_path / "a")
    pack = load_datapack(tmp_path / "a")
    first = pack.articles[0]
    assert (first.id, first.title, first.tags) == (
        "how-do-i-reset-my-password", "How do I reset my password?", ("Account",))
    assert "Go to **Settings**, then Password." in first.body
    assert ("locked out", first.id) in pack.examples
    grouped = {"Orders": [{"q": "Where is my parcel?", "a": "Under Orders."}],
               "Account": [{"question": "Can I close my account?", "answer": "Yes.",
                            "questions": ["delete my account"]}]}
    import_kb(write(tmp_path / "faq.json", json.dumps(grouped)), tmp_path / "b")
    pack = load_datapack(tmp_path / "b")
    assert [(a.title, a.tags) for a in pack.articles] == [
        ("Where is my parcel?", ("Orders",)), ("Can I close my account?", ("Account",))]
    listed = [{"Question": "Ça coûte combien ?", "Answer": "Rien."},
              {"Question": "Ça coûte combien !", "Answer": "Toujours rien."}]
    import_kb(write(tmp_path / "list.json", json.dumps({"faqs": listed})), tmp_path / "c")
    assert [a.id for a in load_datapack(tmp_path / "c").articles] == [
        "ça-coûte-combien", "ça-coûte-combien-2"]


def published(pack_dir: Path) -> dict[str, str]:
    return {a.title: a.body for a in load_datapack(pack_dir).articles}


def test_help_centre_api_exports_load_as_they_are(tmp_path) -> None:
    """The JSON that help-centre tools export: questions under a key beside paging and
    side-loaded data, HTML bodies, other field names, drafts left out and counted."""
    zendesk = {"articles": [
        {"id": 360001, "title": "Reset your password", "section_id": 7, "draft": False,
         "body": "<p>Open <strong>Settings</strong>.</p><h2>No email?</h2><p>Ask us.</p>",
         "label_names": ["account"]},
        {"id": 360002, "title": "Delivery times", "body": "<p>2 to 4 days.</p>", "draft": False},
        {"id": 360003, "title": "Unfinished", "body": "<p>TODO</p>", "draft": True}],
        "sections": [{"id": 7, "name": "Account", "description": "Your account"}],
        "next_page": None, "page": 1, "count": 3}
    result = import_kb(write(tmp_path / "zendesk.json", json.dumps(zendesk)), tmp_path / "z")
    assert (result["articles"], result["drafts_left_out"]) == (2, 1)
    pack = load_datapack(tmp_path / "z")
    assert [a.id for a in pack.articles] == ["360001", "360002"]
    assert pack.articles[0].body == ("# Reset your password\n\nOpen **Settings**.\n\n"
                                     "## No email?\n\nAsk us.")
    intercom = {"type": "list", "pages": {"page": 1, "total_pages": 1}, "data": [
        {"id": "9", "title": "Refunds", "description": "How refunds work", "state": "published",
         "body": "<p>Five working days.</p>", "translated_content": {"fr": {
             "title": "Remboursements", "body": "<p>Cinq jours.</p>"}}},
        {"id": "10", "title": "Gift cards", "description": "Buying one", "state": "published",
         "body": ""},
        {"id": "11", "title": "Old policy", "body": "<p>Gone.</p>", "state": "draft"}]}
    import_kb(write(tmp_path / "intercom.json", json.dumps(intercom)), tmp_path / "i")
    assert published(tmp_path / "i") == {"Refunds": "# Refunds\n\nFive working days.",
                                         "Gift cards": "# Gift cards\n\nBuying one"}
    helpscout = {"articles": {"page": 1, "pages": 1, "items": [
        {"id": "a1", "name": "Change your plan", "text": "<p>Billing, then Plan.</p>"},
        {"id": "a2", "name": "Cancel", "text": "Billing, then Cancel."}]}}
    import_kb(write(tmp_path / "helpscout.json", json.dumps(helpscout)), tmp_path / "h")
    assert set(published(tmp_path / "h")) == {"Change your plan", "Cancel"}
    groups = [{"name": "Cards", "faqs": [{"question": "Lost card?", "answer": "Freeze it."}]},
              {"name": "Fees", "faqs": [{"question": "Any fees?", "answer": "None."}]}]
    import_kb(write(tmp_path / "groups.json", json.dumps(groups)), tmp_path / "g")
    assert [(a.title, a.tags) for a in load_datapack(tmp_path / "g").articles] == [
        ("Lost card?", ("Cards",)), ("Any fees?", ("Fees",))]
    lines = '{"question": "Open on Sundays?", "answer": "Yes."}\n\n{"q": "Parking?", "a": "Free."}\n'
    import_kb(write(tmp_path / "faq.jsonl", lines), tmp_path / "l")
    assert set(published(tmp_path / "l")) == {"Open on Sundays?", "Parking?"}


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("faq.csv", "question,reply\nq1,a1\nq2,a2\n", "no 'answer' column"),
        ("faq.csv", "question,answer\nq1,a1\nq2,\n", "row 3: empty answer"),
        ("faq.csv", "question,answer\nq1,a1\n  Q1 ,a2\n", "row 3: duplicate question"),
        ("faq.csv", "id,question,answer\nx,q1,a1\nx,q2,a2\n", "duplicate id 'x'"),
        ("faq.csv", b"question,answer\nq1,caf\xe9\n", "not UTF-8"),
        ("faq.csv", "question,answer\nq1,a1\n", "at least two articles"),
        ("faq.json", "{not json", "not valid JSON"),
        ("faq.json", '[{"question": "q1", "answer": "a1"}, "q2"]', "item 2: expected an object"),
        ("faq.json", '{"question": "q1"}', "expected a list"),
        ("faq.pdf", "%PDF", "a FAQ as .csv, .json or .jsonl"),
        ("faq.jsonl", '{"question": "q1", "answer": "a1"}\n{"question": "q2",\n', "line 2: not valid JSON"),
        ("faq.json", '{"articles": [{"title": "q1", "body": "a1"}, {"title": "q2"}]}',
         "no 'answer' column"),
        ("faq.json", json.dumps([{"title": "q1", "body": "a1", "draft": True},
                                 {"title": "q2", "body": "a2", "status": "archived"}]),
         "no published questions"),
        ("missing.csv", None, "no such file"),
    ],
)
def test_bad_faq_input_is_refused_and_nothing_is_written(tmp_path, name, content, says) -> None:
    source = write(tmp_path / name, content) if content is not None else tmp_path / name
    with pytest.raises(KbImportError, match=says) as caught:
        import_kb(source, tmp_path / "out" / "pack")
    assert name in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_bad_article_folders_are_refused(tmp_path) -> None:
    with pytest.raises(KbImportError, match="no .md, .html or .txt"):
        import_kb(write(tmp_path / "empty" / "a.pdf", "x").parent, tmp_path / "p")
    src = tmp_path / "src"
    write(src / "a.md", "# A\n\ntext")
    write(src / "b.md", "# B")
    with pytest.raises(KbImportError, match="b.md: the article has no text"):
        import_kb(src, tmp_path / "p")
    write(src / "b.md", "---\nid: a\n---\n# B\n\ntext")
    with pytest.raises(KbImportError, match="duplicate id 'a'"):
        import_kb(src, tmp_path / "p")
    write(src / "b.md", b"# B\n\ncaf\xe9")
    with pytest.raises(KbImportError, match="b.md: not UTF-8"):
        import_kb(src, tmp_path / "p")
    assert not (tmp_path / "p").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_an_existing_pack_is_replaced_only_when_asked(tmp_path) -> None:
    faq = write(tmp_path / "faq.csv", FAQ_CSV)
    write(tmp_path / "pack" / "keep.txt", "mine")
    with pytest.raises(KbImportError, match="not empty; choose another or pass --replace"):
        import_kb(faq, tmp_path / "pack")
    assert (tmp_path / "pack" / "keep.txt").read_text() == "mine"
    import_kb(faq, tmp_path / "pack", replace=True)
    assert not (tmp_path / "pack" / "keep.txt").exists()
    assert len(load_datapack(tmp_path / "pack").articles) == 2


def test_the_command_prints_json_or_one_line(tmp_path, model_dir) -> None:
    faq = write(tmp_path / "faq.csv", FAQ_CSV)
    ok = concierge("kb", "import", str(faq), "--out", str(tmp_path / "p"), "--json",
                   state=tmp_path / "s", model_dir=model_dir)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["articles"] == 2
    bad = concierge("kb", "import", str(faq), "--out", str(tmp_path / "p"),
                    state=tmp_path / "s", model_dir=model_dir)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("concierge: error: ") and bad.stderr.count("\n") == 1


SHOP_FAQ = [
    ("How do I return an item?", ("Print the label from Orders > Return and drop the parcel "
     "at any post office within 30 days."), ["i want to send something back",
                                             "can i return my shoes", "returning a product"]),
    ("When will my order arrive?", ("Standard delivery takes 2 to 4 working days; express "
     "arrives the next day."), ["my parcel has not come yet", "how long is shipping",
                               "delivery time for my order"]),
    ("How do I change my password?", "Open Account > Security and choose a new password.",
     ["i forgot my password", "reset my login", "update my password"]),
    ("Do you ship abroad?", ("We ship to the EU, the UK and the US; customs fees are "
     "included at checkout."), ["international shipping", "can you deliver to france",
                               "do you send orders overseas"]),
]


def shop_engine(tmp_path: Path, model_dir: Path) -> Engine:
    rows = [{"question": q, "answer": a, "questions": "|".join(extra)} for q, a, extra in SHOP_FAQ]
    import_kb(write(tmp_path / "faq.json", json.dumps(rows)), tmp_path / "shop")
    settings = Settings(data_dir=tmp_path / "shop", state_dir=tmp_path / "state",
                        model_dir=model_dir)
    return Engine.load(settings, checkpointer=memory_checkpointer())


def test_an_imported_faq_greets_thanks_says_goodbye_and_hands_off(tmp_path, model_dir) -> None:
    """A FAQ has no entry for "hi" or "a person": Concierge's own conversation intents
    answer them, and the FAQ's questions still reach their articles."""
    engine = shop_engine(tmp_path, model_dir)
    for text, route, intent in [("hey, good afternoon", "smalltalk", "greeting"),
                                ("thanks, that was helpful", "smalltalk", "thanks"),
                                ("ok that's all, have a nice day", "smalltalk", "goodbye"),
                                ("I need to speak to a real person", "handoff", "human_agent"),
                                ("is there a human I could chat with", "handoff", "human_agent"),
                                ("can I return a jacket I bought", "answer",
                                 "how-do-i-return-an-item")]:
        state = engine.run_turn(uuid.uuid4().hex, text)
        assert (state["route"], state["intent"]) == (route, intent), (text, state["confidence"])


def test_an_imported_faq_answers_from_the_right_article(tmp_path, model_dir) -> None:
    engine = shop_engine(tmp_path, model_dir)
    for text, expected in [("can I return a jacket I bought", "how-do-i-return-an-item"),
                           ("how long does shipping take", "when-will-my-order-arrive"),
                           ("I forgot my password", "how-do-i-change-my-password"),
                           ("do you deliver to france", "do-you-ship-abroad")]:
        state = engine.run_turn(uuid.uuid4().hex, text)
        assert state["route"] == "answer", (text, state["intent"], state["confidence"])
        assert state["sources"][0]["id"] == expected, text


def test_a_saved_help_centre_page_keeps_its_article_not_the_site(tmp_path) -> None:
    page = """<html><head><title>Refunds | Acme Help</title></head><body>
    <div role="banner"><a href="/">Acme</a> <input placeholder="Search"></div>
    <div class="crumbs">Help / Orders / Refunds</div>
    <main><article><h1>Refunds</h1><p>Refunds reach your card in 5 days.</p>
    <h2>Paid by gift card?</h2><p>It goes back on the gift card.</p></article>
    <aside><h3>Related articles</h3><a href="/x">Cancel an order</a></aside>
    <button>Was this helpful?</button></main>
    <div role="contentinfo">Copyright Acme</div></body></html>"""
    src = tmp_path / "site"
    write(src / "refunds.html", page)
    write(src / "list.html", "<body><h1>Orders</h1><article><h2>Track</h2><p>In the app.</p>"
          "</article><article><h2>Cancel</h2><p>Within an hour.</p></article></body>")
    import_kb(src, tmp_path / "pack")
    bodies = published(tmp_path / "pack")
    assert bodies["Refunds"] == ("# Refunds\n\nRefunds reach your card in 5 days.\n\n"
                                 "## Paid by gift card?\n\nIt goes back on the gift card.")
    assert "Track" in bodies["Orders"] and "Cancel" in bodies["Orders"]

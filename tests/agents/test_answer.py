"""Answer agent: grounded replies with sources, and no confident answer from a weak match."""

from __future__ import annotations

from agents.answer import OfflineAnswerWriter, compose_reply
from agents.retrieval import Passage


def passage(score: float, intent_match: bool, text: str = "Do this.", article: str = "a1") -> Passage:
    return Passage(article, f"Title {article}", "Steps", text, score, intent_match)


WRITER = OfflineAnswerWriter({"a1": "The lead answer.", "a2": "Another lead."})


def test_answer_quotes_lead_and_section_and_names_sources() -> None:
    reply = compose_reply("q", [passage(0.9, True)], WRITER, intent_in_scope=True, min_score=0.35)
    assert reply.route == "answer"
    assert reply.text.startswith("The lead answer.")
    assert "Do this." in reply.text
    assert reply.text.rstrip().endswith("Sources: Title a1")
    assert [s.id for s in reply.sources] == ["a1"]


def test_weak_unrelated_passage_gets_a_question_not_an_answer() -> None:
    weak = [passage(0.2, False)]
    reply = compose_reply("q", weak, WRITER, intent_in_scope=False, min_score=0.35,
                          options=["Card delivery", "PIN"])
    assert reply.route == "clarify"
    assert reply.sources == []
    assert "Card delivery" in reply.text and "person" in reply.text


def test_low_confidence_intent_match_alone_is_not_enough() -> None:
    reply = compose_reply("q", [passage(0.2, True)], WRITER, intent_in_scope=False, min_score=0.35)
    assert reply.route == "clarify"


def test_strong_match_answers_even_without_intent() -> None:
    reply = compose_reply("q", [passage(0.8, False)], WRITER, intent_in_scope=False, min_score=0.35)
    assert reply.route == "answer"


def test_no_passages_asks_for_more() -> None:
    reply = compose_reply("q", [], WRITER, intent_in_scope=True, min_score=0.35)
    assert reply.route == "clarify" and "person" in reply.text

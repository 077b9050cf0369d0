"""Retrieval agent: right article, intent boost, and speed on a large index."""

from __future__ import annotations

import time

import bm25s
import pytest

from agents.intent import stemmer
from agents.retrieval import Article, KnowledgeRetriever, query_terms


@pytest.mark.parametrize(
    ("query", "article_id"),
    [
        ("how long until my card is delivered", "kb-card-delivery-estimate"),
        ("change my pin number", "kb-change-pin"),
        ("cancel a transfer I just made", "kb-cancel-transfer"),
        ("close my account", "kb-terminate-account"),
    ],
)
def test_finds_the_article(engine, query: str, article_id: str) -> None:
    passages = engine.agents.retriever.search(query, k=3)
    assert article_id in [p.article_id for p in passages]


def test_intent_boost_puts_the_intents_article_first(engine) -> None:
    retriever = engine.agents.retriever
    query = "it still hasn't come"
    boosted = retriever.search(query, intent="card_arrival", k=3)
    assert boosted[0].article_id == "kb-card-arrival"
    assert boosted[0].intent_match


def test_scores_are_relative_and_unknown_words_score_nothing(engine) -> None:
    retriever = engine.agents.retriever
    assert retriever.search("zyxxq blorft", k=3) == []
    strong = retriever.search("change my PIN", k=1)[0].score
    weak = retriever.search("change my PIN while skydiving over volcanoes in Patagonia", k=1)[0].score
    assert 0.0 < weak < strong <= 1.0


def test_query_terms_are_the_index_tokenizers(engine) -> None:
    texts = [text for text, _ in engine.pack.examples] + [
        "Where's my card?! I've waited 10 days...", "café crème, naïve résumé", "a I x9 __init__ 2x",
        "TRANSFER_LIMIT e-mail re-issue", "", "   ", "it's the 3rd time: £50, €20 & $5",
    ]
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), return_ids=False,
                              show_progress=False)
    assert [query_terms(text) for text in texts] == expected


def test_scores_do_not_depend_on_the_queries_before(engine) -> None:
    """Each term's best score is remembered: a warm retriever scores as a fresh one."""
    query = "how do I top up my card by bank transfer"
    fresh = KnowledgeRetriever(engine.pack.articles).search(query, k=3)
    warm = KnowledgeRetriever(engine.pack.articles)
    for text, _ in engine.pack.examples[:300]:
        warm.search(text, k=3)
    assert warm.search(query, k=3) == fresh and 0.0 < fresh[0].score <= 1.0


def _synthetic_articles(n: int) -> list[Article]:
    words = [f"w{i}" for i in range(3000)]
    articles = []
    for i in range(n):
        body = f"# Topic {i}\n\nLead {words[i % 3000]} {words[(i * 7) % 3000]}.\n\n"
        body += f"## Details\n\n{words[(i * 13) % 3000]} {words[(i * 17) % 3000]} fees limits"
        articles.append(Article(f"a{i}", f"Topic {i}", (f"intent{i % 80}",), (), body))
    return articles


def test_stays_fast_with_ten_thousand_sections() -> None:
    retriever = KnowledgeRetriever(_synthetic_articles(6000))
    assert retriever.size >= 10_000
    retriever.search("w5 fees", intent="intent5")
    started = time.perf_counter()
    for i in range(100):
        result = retriever.search(f"w{i} w{i * 7} fees", intent=f"intent{i % 80}", k=3)
    per_query_ms = (time.perf_counter() - started) * 10
    assert result and per_query_ms < 25, per_query_ms

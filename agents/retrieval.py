"""Retrieval agent: which knowledge-base passages answer the customer.

Articles are split into sections on their Markdown headings (langchain-text-splitters)
and indexed once with bm25s. A query scores every section; sections of articles that
answer the predicted intent get a boost, so "it still hasn't come" finds the card
delivery article when the intent agent is fairly sure that is the topic. Scores are
reported relative to the best possible match of the query (0-1), which lets the answer
agent refuse weak matches with one threshold whatever the corpus size.

With a sentence encoder (the `semantic` extra) retrieval is hybrid: every section is
embedded once at index time, and a query's BM25 ranking and embedding-similarity ranking
are fused by reciprocal rank fusion, so "my plastic never showed up" can find the card
delivery article without sharing a word with it. The intent boost is then a share of
the best possible fused score. A passage's `score` stays an absolute "how well does this
match the question" on 0-1: the larger of the relative BM25 score and the cosine
similarity mapped through a fixed calibration (`cosine_score`), so the answer agent's one
threshold still refuses articles that match neither by words nor by meaning.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from agents.intent import stemmer

if TYPE_CHECKING:
    from agents.embeddings import SentenceEncoder

logging.getLogger("bm25s").setLevel(logging.WARNING)
_HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
SECTION_CHARS = 1500
"""A section longer than this (a long article without headings) is cut into passages of
at most this size, on paragraph, then line, then sentence breaks."""
RRF_K = 60
"""Reciprocal rank fusion's damping constant (Cormack et al., 2009)."""
COSINE_FLOOR, COSINE_FULL = 0.30, 0.80
"""all-MiniLM-L6-v2 cosine similarity that maps to score 0 and to score 1 (see README)."""


def cosine_score(cosine: np.ndarray) -> np.ndarray:
    """Cosine similarity as a 0-1 match score: unrelated text 0, a paraphrase high."""
    return np.clip((cosine - COSINE_FLOOR) / (COSINE_FULL - COSINE_FLOOR), 0.0, 1.0)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """1 for the best score, 2 for the next...; ties share the better rank's order."""
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1)
    return ranks


@dataclass(frozen=True)
class Article:
    """One knowledge-base article, as shipped in a data pack."""

    id: str
    title: str
    intents: tuple[str, ...]
    tags: tuple[str, ...]
    body: str


@dataclass(frozen=True)
class Passage:
    """One retrieved section of an article, with its score."""

    article_id: str
    title: str
    heading: str
    text: str
    score: float
    """How well the section matches the query, 0-1: BM25 relative to the query's ideal
    score (1.0 is the best any section could get), or, in hybrid mode, the larger of that
    and the calibrated cosine similarity (`cosine_score`)."""
    intent_match: bool
    """Whether the article is tagged with the predicted intent."""
    cosine: float | None = None
    """With embeddings, the section's cosine similarity to the query: the evidence by meaning."""


@dataclass(frozen=True)
class _Section:
    article: Article
    heading: str
    text: str


def split_sections(article: Article) -> list[_Section]:
    """The article's sections, each keeping its heading; the first one is the summary."""
    splitter = MarkdownHeaderTextSplitter(_HEADINGS, strip_headers=True)
    long = RecursiveCharacterTextSplitter(chunk_size=SECTION_CHARS, chunk_overlap=0)
    sections = []
    for doc in splitter.split_text(article.body):
        heading = doc.metadata.get("h3") or doc.metadata.get("h2") or article.title
        text = doc.page_content.strip()
        for part in long.split_text(text) if len(text) > SECTION_CHARS else [text]:
            if part.strip():
                sections.append(_Section(article, heading, part.strip()))
    return sections


def _tokenize(texts: list[str]) -> list[list[str]]:
    return bm25s.tokenize(
        texts, stopwords="en", stemmer=stemmer(), return_ids=False, show_progress=False
    )


_WORDS = re.compile(r"(?u)\b\w\w+\b")  # bm25s.tokenize's default token pattern
_STOPWORDS = frozenset(STOPWORDS_EN)


def query_terms(text: str) -> list[str]:
    """One text's terms exactly as `_tokenize` makes them (lower-cased words of two or
    more characters, English stopwords out, stemmed), without bm25s's per-call set-up:
    a tenth of the time for a query. A test holds the two together."""
    return stemmer().stemWords([w for w in _WORDS.findall(text.lower()) if w not in _STOPWORDS])


class KnowledgeRetriever:
    """A BM25 index over article sections, built once."""

    def __init__(self, articles: Sequence[Article], *, intent_boost: float = 0.5,
                 encoder: SentenceEncoder | None = None):
        self.sections = [s for a in articles for s in split_sections(a)]
        if not self.sections:
            raise ValueError("the knowledge base has no article sections to index")
        self.intent_boost = intent_boost
        self._bm25 = bm25s.BM25()
        corpus = [f"{s.article.title} {s.heading} {s.text}" for s in self.sections]
        self._bm25.index(_tokenize(corpus), show_progress=False)
        self.encoder = encoder
        self._vectors = encoder.encode(corpus) if encoder is not None else None
        by_intent: dict[str, list[int]] = defaultdict(list)
        for i, section in enumerate(self.sections):
            for intent in section.article.intents:
                by_intent[intent].append(i)
        self._by_intent = {k: np.array(v) for k, v in by_intent.items()}
        self.articles = {a.id: a for a in articles}
        self._term_best: dict[str, float] = {}

    @property
    def size(self) -> int:
        return len(self.sections)

    def search(self, query: str, *, intent: str | None = None, k: int = 3) -> list[Passage]:
        """The best `k` sections for the query, at most one per article."""
        if self._vectors is not None:
            return self._hybrid_search(query, intent, k)
        relative = self._relative_bm25(query)
        if not relative.any():  # no word of the query is in the knowledge base
            return []
        boosted = relative.copy()
        matched = self._by_intent.get(intent or "", np.array([], dtype=int))
        if matched.size:
            boosted[matched] += self.intent_boost
        candidates = np.argpartition(-boosted, min(len(boosted) - 1, k * 4))[: k * 4]
        return self._best_per_article(sorted(candidates, key=lambda j: -boosted[j]), relative,
                                      intent, k)

    def _relative_bm25(self, query: str) -> np.ndarray:
        """Each section's BM25 score relative to the query's ideal (0 without known words)."""
        tokens = query_terms(query)
        known = [t for t in tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.sections))
        return self._bm25.get_scores(known) / self._ideal_score(tokens, known)

    def _hybrid_search(self, query: str, intent: str | None, k: int) -> list[Passage]:
        relative = self._relative_bm25(query)
        cosine = self._vectors @ self.encoder.encode([query])[0]
        score = np.maximum(relative, cosine_score(cosine))
        # BM25 ranks only the sections that share a word with the query.
        fused = np.where(relative > 0.0, 1.0 / (RRF_K + _ranks(relative)), 0.0)
        fused += 1.0 / (RRF_K + _ranks(cosine))
        matched = self._by_intent.get(intent or "", np.array([], dtype=int))
        if matched.size:  # the same share of the best possible score as BM25's boost
            fused[matched] += self.intent_boost * 2.0 / (RRF_K + 1)
        return self._best_per_article(np.argsort(-fused, kind="stable"), score, intent, k, cosine)

    def _best_per_article(self, order: Iterable[int], score: np.ndarray, intent: str | None,
                          k: int, cosine: np.ndarray | None = None) -> list[Passage]:
        """The first `k` sections in `order` that score above 0, at most one per article."""
        passages: list[Passage] = []
        seen: set[str] = set()
        for i in order:
            section = self.sections[i]
            if section.article.id in seen or score[i] <= 0.0:
                continue
            seen.add(section.article.id)
            passages.append(Passage(
                article_id=section.article.id,
                title=section.article.title,
                heading=section.heading,
                text=section.text,
                score=round(float(score[i]), 4),
                intent_match=intent in section.article.intents,
                cosine=None if cosine is None else round(float(cosine[i]), 4),
            ))
            if len(passages) == k:
                break
        return passages

    def _ideal_score(self, tokens: list[str], known: list[str]) -> float:
        """What a section holding every query term at its best weight would score.

        A term the corpus has never seen counts as much as the rarest known term, so a
        query about something the knowledge base does not cover scores low everywhere.
        """
        best = [self._best_score(t) for t in known]
        return sum(best) + (len(tokens) - len(known)) * max(best)

    def _best_score(self, term: str) -> float:
        """The highest score the term alone gives any section, worked out once per term."""
        best = self._term_best.get(term)
        if best is None:
            best = self._term_best[term] = float(self._bm25.get_scores([term]).max())
        return best

    def leads(self) -> dict[str, str]:
        """Each article's first section: the direct answer it opens with."""
        leads: dict[str, str] = {}
        for section in self.sections:
            leads.setdefault(section.article.id, section.text)
        return leads

"""Intent agent: what does the customer want, and how sure are we.

`IntentClassifier.predict` scores a message with a trained linear model over word and
character n-gram TF-IDF features, turns the scores into calibrated probabilities
(temperature scaling) and calls the message out of scope under a confidence threshold
chosen on held-out data. Training (scikit-learn) lives in `agents.intent_training`;
a trained model keeps only its fitted arithmetic (`LinearTextScorer`: vocabularies, idf
weights, coefficients), so loading a cached model and predicting never import
scikit-learn, which would pull pandas and pyarrow into the engine process. A trained
model is cached on disk under a hash of its training data.

With the sentence encoder (agents/embeddings.py, on by default) the embedding's columns
add to the linear scores and the similarity to each intent's nearest examples is mixed in
(`SemanticPart`: the examples' vectors, numpy only; its weight chosen in training), which
is what lets one phrasing per intent be enough to start. With embeddings a message is also declined when it is unlike
every example of its best intent (`similarity_floor`, measured on held-out rows): what
keeps "activate a wireless hotspot" from being answered as "activate my card", however
sure the word features are. The encoder is never pickled: a cached model holds the
encoder's identity and gets the process's encoder attached again after loading.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np
import Stemmer
from scipy.special import softmax

if TYPE_CHECKING:
    from agents.embeddings import SentenceEncoder
    from agents.spelling import Speller

OUT_OF_SCOPE = "out_of_scope"
MODEL_VERSION = "intent-v6"  # bump when features or model change: invalidates caches
SEMANTIC_VERSION = "semantic-v6"  # the same, for the embedding half (models with an encoder)

_TOKEN = re.compile(r"[a-z0-9]+")
_CONTRACTIONS = {"n't": " not", "'m": " am", "'ve": " have", "'re": " are", "'ll": " will"}
_STEMMERS = threading.local()


def stemmer() -> Stemmer.Stemmer:
    """This thread's English stemmer: PyStemmer objects must not be shared across threads."""
    found = getattr(_STEMMERS, "stemmer", None)
    if found is None:
        found = _STEMMERS.stemmer = Stemmer.Stemmer("english")
    return found


def normalise(text: str) -> str:
    """Lower-case, unify apostrophes, expand contractions and fold digits to 0."""
    text = text.lower().replace("\u2019", "'")
    for short, full in _CONTRACTIONS.items():
        text = text.replace(short, full)
    return re.sub(r"\d+", "0", text)


def stemmed_terms(text: str) -> list[str]:
    """Stemmed words and stemmed word bigrams: the word half of the features."""
    words = stemmer().stemWords(_TOKEN.findall(normalise(text)))
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def char_ngrams(text: str) -> list[str]:
    """Character 2- to 4-grams inside each padded word of the normalised text: the
    character half of the features (scikit-learn's `char_wb` analyzer, written out so
    that predicting needs no scikit-learn; a test holds the two together)."""
    grams: list[str] = []
    for word in normalise(text).split():
        padded = f" {word} "
        for n in range(2, 5):
            grams.extend(padded[i:i + n] for i in range(max(1, len(padded) - n + 1)))
            if len(padded) <= n:  # a word no longer than n counts once, whole
                break
    return grams


@dataclass(frozen=True)
class IntentPrediction:
    """The intent agent's answer for one message."""

    intent: str
    """The predicted intent, or `out_of_scope` when confidence is under the threshold or
    the message is unlike every example of its best intent (the similarity floor)."""
    confidence: float
    """Calibrated probability of the model's best intent."""
    best_guess: str
    """The model's best intent even when it is out of scope."""
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    """Runner-up intents with their probabilities, best first."""
    evidence: list[tuple[str, str, float]] = field(default_factory=list)
    """With embeddings, the nearest training examples: (example, its intent, cosine)."""
    similarity: float | None = None
    """With embeddings, the cosine to the best intent's nearest example."""
    read_as: str | None = None
    """The message as the model read it, when mending its spelling changed it."""

    @property
    def in_scope(self) -> bool:
        return self.intent != OUT_OF_SCOPE


EMBEDDING_SCALE = 1.0
"""Weight of the (unit-length) embedding columns beside the two L2-normalised TF-IDF
blocks (5-fold CV on BANKING77 train: flat from 1.0 to 2.0, lower at 2.5)."""
SECOND_NEAREST_WEIGHT = 0.5
"""How much an intent's second nearest example counts beside its nearest: one stray
example close to a message says less than two (10 examples per intent, scored on other
BANKING77 train rows: 83.1% -> 83.5%; trained on 7,000 train rows: 93.2% -> 93.5%)."""
SECOND_NEAREST_FROM = 3
"""Examples an intent needs before its second nearest counts. An article alone is its title
and its summary: a message is like one of the two, not both, and mixing them cost the demo
pack's articles alone a tenth of their right answers on BANKING77 test (49% -> 45%)."""
EVIDENCE = 3
"""Nearest examples a prediction reports as its evidence."""
FAMILIAR_QUANTILE = 0.05
"""Share of the held-out right answers whose nearest example of their intent is allowed to
be less similar than the similarity floor: the floor declines messages unlike anything an
intent was taught ("activate a wireless hotspot" is not "activate my card"), whatever the
lexical model's confidence."""


@dataclass(frozen=True)
class SemanticPart:
    """What a model trained with embeddings keeps about them (numpy only, no encoder)."""

    identity: str
    """The encoder's identity (model name and dimension) the model was trained with."""
    vectors: np.ndarray
    """The training examples' embeddings (float16), sorted by label."""
    starts: np.ndarray
    """Index of each label's first row in `vectors` (every label has at least one)."""
    texts: tuple[str, ...]
    """The examples themselves, in `vectors` order: the evidence a prediction shows."""
    svm_spread: float
    nearest_spread: float
    """Standard deviations of the row-centred held-out scores: the two score scales."""
    context: np.ndarray | None = None
    """Embeddings (float16) of texts that describe an intent without being a customer's
    phrasing (its article's sections after the summary), sorted by label; or None."""
    context_starts: np.ndarray | None = None
    context_labels: np.ndarray | None = None
    """Index of each described label's first row in `context`, and those labels."""
    context_spread: float = 1.0
    """The context similarities' score scale, its weight (chosen in training) folded in."""

    @functools.cached_property
    def _vectors32(self) -> np.ndarray:
        """`vectors` as float32, converted once: converting them on every call was half
        of a whole turn's time."""
        return np.ascontiguousarray(self.vectors, dtype=np.float32)

    @functools.cached_property
    def _context32(self) -> np.ndarray:
        return np.ascontiguousarray(self.context, dtype=np.float32)

    def __getstate__(self) -> dict:  # float16 only
        return {k: v for k, v in self.__dict__.items() if k not in ("_vectors32", "_context32")}

    def described(self, embeddings: np.ndarray) -> np.ndarray | None:
        """Each label's cosine to its nearest describing text, one row per text (a label
        with none gets the row's mean), or None without context."""
        if self.context is None or self.context_starts is None or self.context_labels is None:
            return None
        return label_best(embeddings.astype(np.float32) @ self._context32.T,
                          self.context_starts, self.context_labels, len(self.starts))

    def similarities(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine similarity of each text to every example, one row per text."""
        return embeddings.astype(np.float32) @ self._vectors32.T

    def nearest(self, similarities: np.ndarray) -> np.ndarray:
        """Each label's similarity: its nearest example's, with its second nearest's mixed
        in at `SECOND_NEAREST_WEIGHT` when it has `SECOND_NEAREST_FROM` examples or more."""
        best = np.maximum.reduceat(similarities, self.starts, axis=1)
        sizes = np.diff(np.append(self.starts, similarities.shape[1]))
        others = np.where(similarities >= np.repeat(best, sizes, axis=1), -np.inf, similarities)
        second = np.maximum.reduceat(others, self.starts, axis=1)
        second = np.where(sizes >= SECOND_NEAREST_FROM, second, best)
        return ((best + SECOND_NEAREST_WEIGHT * second) / (1.0 + SECOND_NEAREST_WEIGHT)).astype(
            np.float64)


def label_best(similarities: np.ndarray, starts: np.ndarray, labels: np.ndarray,
               n_labels: int) -> np.ndarray:
    """Per label, the best of its contiguous block of columns (`starts`, for `labels`);
    labels without a block get each row's mean of the others."""
    best = np.maximum.reduceat(similarities, starts, axis=1).astype(np.float64)
    out = np.repeat(best.mean(axis=1, keepdims=True), n_labels, axis=1)
    out[:, labels] = best
    return out


def centred(scores: np.ndarray) -> np.ndarray:
    """Each row's scores minus that row's mean."""
    return scores - scores.mean(axis=1, keepdims=True)


def combine_scores(svm_scores: np.ndarray, nearest: np.ndarray, svm_spread: float,
                   nearest_spread: float) -> np.ndarray:
    """The SVM's scores and the nearest-example similarities, each over its spread, added.

    Training chooses how much the nearest examples weigh and folds it into their spread
    (`agents.intent_training.nearest_weight`): what lets one phrasing per intent be enough
    to start."""
    return centred(svm_scores) / svm_spread + centred(nearest) / nearest_spread


def as_matrix(scores: np.ndarray) -> np.ndarray:
    """A two-class SVM gives one score per row; make it one column per class."""
    if scores.ndim == 2 and scores.shape[1] == 1:
        scores = scores[:, 0]
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


Analyzer = Callable[[str], list[str]]


class LinearTextScorer:
    """A fitted TF-IDF + linear SVM as plain arithmetic: for each feature block, sublinear
    term counts times idf, L2-normalised, times the block's weights; plus the intercept.

    Equal to the scikit-learn pipeline's `decision_function` (a test holds them together)
    at ~0.1 ms a message instead of ~4 ms of per-call validation.
    """

    def __init__(self, parts: list[tuple[Analyzer, dict[str, int], np.ndarray, np.ndarray]],
                 intercept: np.ndarray, rest: np.ndarray):
        self.parts = parts
        """(analyzer, vocabulary, idf, weights) of each TF-IDF block, in column order."""
        self.intercept = intercept
        self.rest = rest
        """Weights of the columns after the TF-IDF ones: the embedding's, if any."""

    def score(self, text: str) -> np.ndarray:
        total = self.intercept.copy()
        for analyzer, vocabulary, idf, weights in self.parts:
            counts: dict[int, int] = {}
            for term in analyzer(text):
                if (j := vocabulary.get(term)) is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            index = np.fromiter(counts, dtype=np.int64, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), float, len(counts)))) * idf[index]
            total += (values / np.linalg.norm(values)) @ weights[index]
        return total


class IntentClassifier:
    """A trained intent model: `train()` it, then `predict()` messages."""

    similarity_floor: float = 0.0
    """The class default: what a model cached before the floor existed loads with."""
    speller: Speller | None = None
    """Mends a message's typos before it is read (`agents.spelling`); None: read as sent."""

    def __init__(self, scorer: LinearTextScorer, labels: list[str], temperature: float,
                 threshold: float, semantic: SemanticPart | None = None,
                 encoder: SentenceEncoder | None = None, similarity_floor: float = 0.0,
                 speller: Speller | None = None):
        self.scorer = scorer
        """TF-IDF features and the SVM; with embeddings the SVM also has one column per
        embedding dimension after the TF-IDF ones (`scorer.rest`)."""
        self.labels = labels
        self.temperature = temperature
        self.threshold = threshold
        self.semantic = semantic
        self.encoder = encoder if semantic is not None else None
        self.similarity_floor = similarity_floor
        """With embeddings, the least cosine to the best intent's nearest example that
        still answers (chosen on held-out rows, `FAMILIAR_QUANTILE`); 0 without."""
        self.speller = speller

    @property
    def embeddings(self) -> str | None:
        """The identity of the encoder the model was trained with, or None."""
        return self.semantic.identity if self.semantic else None

    def attach(self, encoder: SentenceEncoder | None) -> IntentClassifier:
        """Give a model trained with embeddings (e.g. loaded from the cache) its encoder."""
        if self.semantic is None:
            return self
        if encoder is None or encoder.identity != self.semantic.identity:
            raise ValueError(f"this model needs the {self.semantic.identity} encoder, "
                             f"not {getattr(encoder, 'identity', None)}")
        self.encoder = encoder
        return self

    def __getstate__(self) -> dict:
        return self.__dict__ | {"encoder": None}  # never pickle the encoder: `attach` it

    def spelled(self, text: str) -> str:
        """The message as the model reads it: its typos mended, when the model has a speller."""
        return self.speller.correct(text) if self.speller is not None else text

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Raw scores, one row per text and one column per label (see `_scored`)."""
        return self._scored(texts)[0]

    def _scored(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None,
                                                     np.ndarray | None]:
        """Scores, and with embeddings each text's similarity to every example and to
        each label's nearest example.

        With embeddings the texts are encoded in one batch, their columns' share is
        added to the SVM scores, and the nearest examples' similarities are mixed in.
        """
        svm_scores = np.vstack([self.scorer.score(text) for text in texts])
        if self.semantic is None:
            return as_matrix(svm_scores), None, None
        if self.encoder is None:
            raise RuntimeError(f"this model was trained with {self.semantic.identity} "
                               "embeddings: attach() the encoder before predicting")
        embeddings = self.encoder.encode(list(texts))
        svm_scores += (EMBEDDING_SCALE * embeddings.astype(np.float64)) @ self.scorer.rest
        similarities = self.semantic.similarities(embeddings)
        part = self.semantic
        nearest = part.nearest(similarities)
        scores = combine_scores(as_matrix(svm_scores), nearest, part.svm_spread,
                                part.nearest_spread)
        if (described := part.described(embeddings)) is not None:
            scores += centred(described) / part.context_spread
        return scores, similarities, nearest

    def _evidence(self, similarities: np.ndarray | None, row: int) -> list[tuple[str, str, float]]:
        if similarities is None or self.semantic is None:
            return []
        sims = similarities[row]
        best = np.argsort(-sims)[:EVIDENCE]
        label_of = np.searchsorted(self.semantic.starts, best, side="right") - 1
        return [(self.semantic.texts[i], self.labels[j], round(float(sims[i]), 4))
                for i, j in zip(best, label_of)]

    def predict_many(self, texts: Sequence[str], *, alternatives: int = 3) -> list[IntentPrediction]:
        read = [self.spelled(text) for text in texts]
        scores, similarities, nearest = self._scored(read)
        probs = softmax(scores / self.temperature, axis=1)
        top = np.argsort(-probs, axis=1)[:, : alternatives + 1]
        results = []
        for n, (row, order) in enumerate(zip(probs, top)):
            best, confidence = self.labels[order[0]], float(row[order[0]])
            similarity = None if nearest is None else float(nearest[n, order[0]])
            answered = confidence >= self.threshold and self.familiar(similarity)
            results.append(
                IntentPrediction(
                    intent=best if answered else OUT_OF_SCOPE,
                    confidence=confidence,
                    best_guess=best,
                    alternatives=[(self.labels[i], float(row[i])) for i in order[1:]],
                    evidence=self._evidence(similarities, n),
                    similarity=None if similarity is None else round(similarity, 4),
                    read_as=read[n] if read[n] != texts[n] else None,
                )
            )
        return results

    def familiar(self, similarity: float | None) -> bool:
        """Whether a message this close to its best intent's nearest example may be
        answered (always, without embeddings)."""
        return similarity is None or similarity >= self.similarity_floor

    def predict(self, text: str) -> IntentPrediction:
        return self.predict_many([text])[0]

    def with_spelling(self, on: bool) -> IntentClassifier:
        """The same model, reading messages with their typos mended (`on`) or as sent."""
        if on or self.speller is None:
            return self
        return IntentClassifier(self.scorer, self.labels, self.temperature, self.threshold,
                                self.semantic, self.encoder, self.similarity_floor)

    def with_threshold(self, threshold: float | None) -> IntentClassifier:
        """The same model with another out-of-scope threshold (None keeps the tuned one)."""
        if threshold is None:
            return self
        return IntentClassifier(self.scorer, self.labels, self.temperature, threshold,
                                self.semantic, self.encoder, self.similarity_floor, self.speller)


def training_hash(examples: Sequence[tuple[str, str]], **options: object) -> str:
    """A stable hash of training data, options and model version: the cache key."""
    digest = hashlib.sha256(MODEL_VERSION.encode())
    digest.update(json.dumps(options, sort_keys=True).encode())
    for text, label in examples:
        digest.update(json.dumps([text, label]).encode())
    return digest.hexdigest()[:24]

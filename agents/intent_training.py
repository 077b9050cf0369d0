"""Training the intent agent (scikit-learn): features, the SVM, calibration, the threshold.

A scikit-learn pipeline: stemmed word uni/bi-gram TF-IDF plus character n-gram TF-IDF
into a Crammer-Singer linear SVM (the most accurate of the linear models we measured on
BANKING77). Its scores become calibrated probabilities by temperature scaling fitted on
held-out scores, and the out-of-scope threshold is chosen on those same held-out
predictions (`agents.intent_threshold`), so it is measured, not guessed.

Held-out scores come from `held_out_scores`: each fold's model is trained without that
fold's rows *and* without one group of whole intents, so the fold's rows of those intents
are pseudo-unknowns, messages about something the model was never taught. That is how a
pack with no out-of-scope examples still gets a threshold, and why any mix of intents
trains: an intent with one example is simply unknown in the fold that holds it.

With a sentence encoder (agents/embeddings.py) the message's embedding joins the
features twice: as dense columns beside the TF-IDF ones in the same SVM, and as each
intent's nearest-example cosine similarity, added to the SVM scores at unit spread
times a weight chosen on the held-out rows (`nearest_weight`).
The held-out right answers also set the similarity floor (`similarity_floor`): the
cosine to its intent's nearest example that all but `FAMILIAR_QUANTILE` of them reach;
the confidence threshold is then chosen on the rows that floor lets through.

The trained model keeps only the fitted arithmetic (`LinearTextScorer`), so predicting
never imports scikit-learn, which in turn imports pandas and pyarrow: together over
150 MB of the engine process. Only this module, imported to train, loads them.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, make_union
from sklearn.svm import LinearSVC

from agents.intent import (
    EMBEDDING_SCALE,
    FAMILIAR_QUANTILE,
    OUT_OF_SCOPE,
    IntentClassifier,
    LinearTextScorer,
    SemanticPart,
    as_matrix,
    centred,
    char_ngrams,
    combine_scores,
    stemmed_terms,
)
from agents.intent_threshold import choose_threshold, sane_threshold
from agents.spelling import Speller

if TYPE_CHECKING:
    from agents.embeddings import SentenceEncoder

__all__ = ["choose_threshold", "features", "scorer_from", "train"]
FOLDS = 4
"""Held-out folds; each also leaves out a quarter of the intents (pseudo-unknowns)."""
TEMPERATURE_PRIOR = {False: 0.3, True: 0.75}
"""The temperature of unit-spread scores fitted on BANKING77's held-out rows, without and
with embeddings (two parts at unit spread add up to a wider score): what a pack with few
held-out rows starts from."""
PRIOR_ROWS = 50
"""Held-out rows that weigh as much as the prior."""
MISSING = -1e3
"""The held-out score of an intent its fold's model never saw: far below any real one."""
NEAREST_WEIGHTS = (1.0, 2.0, 4.0)
"""Weights of the nearest-example similarities against the SVM's scores (each at unit
spread) that training chooses between on its held-out rows (`nearest_weight`). Never
less than the SVM's: held-out rows are the pack's own phrasing, which the SVM's words fit
best, while customers word things their own way and meaning is what carries over."""


CONTEXT_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
"""Weights of the describing texts' similarities (an article's sections after its summary)
that training chooses between on its held-out rows; 0 leaves them out. On the demo's
articles alone, other BANKING77 train rows' best guess: 69.2% without, 71.9% at 1."""


def features() -> FeatureUnion:
    """Word and character TF-IDF; the analyzers are the ones the scorer predicts with."""
    return make_union(
        TfidfVectorizer(analyzer=stemmed_terms, sublinear_tf=True),
        TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True),
    )


def _svm() -> LinearSVC:
    return LinearSVC(
        C=1.0, multi_class="crammer_singer", class_weight="balanced", tol=1e-3,
        max_iter=300, random_state=0,
    )


def _spread(scores: np.ndarray, known: np.ndarray) -> float:
    rows = scores[known] if known.any() else scores
    rows = np.where(rows <= MISSING / 2, np.nan, rows)
    with warnings.catch_warnings():  # rows with no seen intent are all NaN: ignored
        warnings.simplefilter("ignore", RuntimeWarning)
        value = float(np.nanstd(rows - np.nanmean(rows, axis=1, keepdims=True)))
    return value if np.isfinite(value) and value > 0 else 1.0


def fit_temperature(scores: np.ndarray, gold: np.ndarray, prior: float) -> float:
    """Temperature T minimising the log-loss of softmax(scores / T) on held-out scores
    (at unit spread), shrunk towards `prior` when there are few of them."""
    if not len(gold):
        return prior

    def nll(log_t: float) -> float:
        return -float(np.mean(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(gold)), gold]))

    fitted = minimize_scalar(nll, bounds=(-6.0, 3.0), method="bounded").x
    weight = len(gold) / (len(gold) + PRIOR_ROWS)
    return float(np.exp(weight * fitted + (1 - weight) * np.log(prior)))


def fold_plan(y: np.ndarray, n_labels: int, folds: int = FOLDS, seed: int = 0,
              never_left_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's fold and each intent's left-out fold (-1 for `never_left_out`).

    Rows of an intent are dealt round-robin over the folds from a random start, so an
    intent with few examples misses some folds (and is unknown where it is held out).
    """
    rng = np.random.default_rng(seed)
    row_fold = np.empty(len(y), dtype=int)
    for label in range(n_labels):
        rows = rng.permutation(np.flatnonzero(y == label))
        row_fold[rows] = (rng.integers(folds) + np.arange(len(rows))) % folds
    label_fold = rng.permutation(np.arange(n_labels) % folds)
    if never_left_out is not None:
        label_fold[never_left_out] = -1
    return row_fold, label_fold


def semantic_part(identity: str, E: np.ndarray, y: np.ndarray, texts: Sequence[str],
                  n_labels: int, svm_spread: float = 1.0,
                  nearest_spread: float = 1.0) -> SemanticPart:
    """The examples' vectors sorted by label, ready for nearest-example scores."""
    order = np.argsort(y, kind="stable")
    starts = np.searchsorted(y[order], np.arange(n_labels))
    return SemanticPart(identity, E[order].astype(np.float16), starts,
                        tuple(texts[i] for i in order), svm_spread, nearest_spread)


def _nearest(E: np.ndarray, y: np.ndarray, train_rows: np.ndarray, test_rows: np.ndarray,
             present: np.ndarray, n_labels: int) -> np.ndarray:
    part = semantic_part("", E[train_rows], np.searchsorted(present, y[train_rows]),
                         [""] * len(train_rows), len(present))
    out = np.full((len(test_rows), n_labels), MISSING)
    out[:, present] = part.nearest(part.similarities(E[test_rows]))
    return out


def _fit_scores(X, E, y, train_rows, test_rows, n_labels):
    """Scores (SVM; nearest examples or None) for `test_rows`, fitted on `train_rows`."""
    present = np.unique(y[train_rows])
    svm_scores = np.full((len(test_rows), n_labels), MISSING)
    nearest = np.full((len(test_rows), n_labels), MISSING) if E is not None else None
    if len(present) < 2 or not len(test_rows):
        return svm_scores, nearest
    svm = _svm().fit(X[train_rows], y[train_rows])
    svm_scores[:, present] = as_matrix(svm.decision_function(X[test_rows]))
    if E is not None:
        nearest = _nearest(E, y, train_rows, test_rows, present, n_labels)
    return svm_scores, nearest


def held_out_scores(X, E, y: np.ndarray, n_labels: int, folds: int = FOLDS,
                    never_left_out: np.ndarray | None = None):
    """Every row's scores from a model that never saw it (nor, in a quarter of the
    rows, its intent): (svm scores, nearest-example scores or None, known mask)."""
    row_fold, label_fold = fold_plan(y, n_labels, folds, never_left_out=never_left_out)
    svm_scores = np.full((len(y), n_labels), MISSING)
    nearest = np.full((len(y), n_labels), MISSING) if E is not None else None
    known = np.zeros(len(y), dtype=bool)
    for k in range(folds):
        test_rows = np.flatnonzero(row_fold == k)
        train_rows = np.flatnonzero((row_fold != k) & (label_fold[y] != k))
        if len(np.unique(y[train_rows])) < 2:  # tiny packs: keep every intent in training
            train_rows = np.flatnonzero(row_fold != k)
        svm_k, nearest_k = _fit_scores(X, E, y, train_rows, test_rows, n_labels)
        svm_scores[test_rows] = svm_k
        if nearest is not None:
            nearest[test_rows] = nearest_k
        known[test_rows] = np.isin(y[test_rows], y[train_rows])
    return svm_scores, nearest, known


def nearest_weight(svm_held: np.ndarray, nearest_held: np.ndarray, spread: float,
                   nearest_spread: float, y: np.ndarray, known: np.ndarray) -> float:
    """The weight of the nearest examples that gets the most held-out rows right (ties: the
    one nearest 1). The SVM needs examples to learn from; the nearest example needs only
    one: a help centre's articles alone (a title and a summary each) read customers better
    leaning on meaning, a pack with many examples per intent on both."""
    rows = np.flatnonzero(known)
    if not rows.size:
        return 1.0
    unseen = svm_held[rows] <= MISSING / 2
    svm, near = np.where(unseen, 0.0, svm_held[rows]), np.where(unseen, 0.0, nearest_held[rows])

    def right(weight: float) -> int:
        scores = combine_scores(svm, near, spread, nearest_spread / weight)
        return int((np.where(unseen, -np.inf, scores).argmax(axis=1) == y[rows]).sum())

    return max(NEAREST_WEIGHTS, key=lambda w: (right(w), -abs(np.log(w))))


def described_part(semantic: SemanticPart, encoder: SentenceEncoder,
                   context: Sequence[tuple[str, str]], index: dict[str, int]) -> SemanticPart | None:
    """`semantic` with the describing texts' embeddings, sorted by label (None without any)."""
    kept = sorted(((index[label], text) for text, label in context if label in index and text),
                  key=lambda pair: pair[0])
    if not kept:
        return None
    labels, starts = np.unique([label for label, _ in kept], return_index=True)
    vectors = encoder.encode([text for _, text in kept]).astype(np.float16)
    return replace(semantic, context=vectors, context_starts=starts, context_labels=labels)


def context_weight(base: np.ndarray, described: np.ndarray, spread: float, y: np.ndarray,
                   known: np.ndarray, missing: np.ndarray) -> float:
    """The weight of the describing texts that gets the most held-out rows right (ties: the
    smallest). `base` is the held-out rows' combined scores without them."""
    rows = np.flatnonzero(known)
    if not rows.size:
        return 0.0
    extra = centred(described[rows]) / spread

    def right(weight: float) -> int:
        scores = np.where(missing[rows], -np.inf, base[rows] + weight * extra)
        return int((scores.argmax(axis=1) == y[rows]).sum())

    return max(CONTEXT_WEIGHTS, key=lambda w: (right(w), -w))


def similarity_floor(nearest: np.ndarray, y: np.ndarray, right: np.ndarray) -> float:
    """The cosine to its intent's nearest example that all but `FAMILIAR_QUANTILE` of the
    held-out right answers reach (0 when none was right: nothing to measure it on)."""
    own = nearest[np.flatnonzero(right), y[right]]
    if not own.size:
        return 0.0
    if not np.isfinite(own).all():
        raise ValueError("intent calibration produced non-finite similarities")
    return float(np.quantile(own, FAMILIAR_QUANTILE))


def scorer_from(union: FeatureUnion, svm: LinearSVC) -> LinearTextScorer:
    """The fitted vocabularies, idf weights and coefficients, without scikit-learn."""
    weights = svm.coef_.T.astype(np.float64)
    parts = []
    offset = 0
    for _, vectorizer in union.transformer_list:
        if not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2"):
            raise ValueError("the scorer expects sublinear, idf-weighted, L2 TF-IDF")
        size = len(vectorizer.vocabulary_)
        parts.append((vectorizer.analyzer, dict(vectorizer.vocabulary_),
                      vectorizer.idf_.astype(np.float64), weights[offset:offset + size]))
        offset += size
    intercept = np.atleast_1d(svm.intercept_).astype(np.float64)
    return LinearTextScorer(parts, intercept, weights[offset:])


def _refit(union: FeatureUnion, X, E, y: np.ndarray, texts: list[str],
           like: IntentClassifier, encoder: SentenceEncoder | None,
           speller: Speller | None) -> IntentClassifier:
    """The SVM (and nearest examples) on every row, calibrated as `like` is."""
    svm = _svm().fit(X, y)
    semantic = None
    if E is not None and like.semantic is not None and encoder is not None:
        lent = like.semantic
        semantic = replace(semantic_part(encoder.identity, E, y, texts, len(like.labels),
                                         lent.svm_spread, lent.nearest_spread),
                           context=lent.context, context_starts=lent.context_starts,
                           context_labels=lent.context_labels, context_spread=lent.context_spread)
    return IntentClassifier(scorer_from(union, svm), like.labels, like.temperature,
                            like.threshold, semantic, encoder,
                            like.similarity_floor if semantic else 0.0, speller)


def _with_context(semantic: SemanticPart, held_out: np.ndarray, candidate: SemanticPart | None,
                  E: np.ndarray, y: np.ndarray, known: np.ndarray,
                  missing: np.ndarray) -> tuple[SemanticPart, np.ndarray]:
    """`candidate` (`semantic` with describing texts) at the weight the held-out rows favour;
    `semantic` and the scores as they were when they favour none."""
    described = candidate.described(E) if candidate is not None else None
    if described is None:
        return semantic, held_out
    spread = _spread(described, known)
    weight = context_weight(held_out, described, spread, y, known, missing)
    if not weight:
        return semantic, held_out
    semantic = replace(candidate, context_spread=spread / weight)
    return semantic, held_out + centred(described) / semantic.context_spread


def train(
    examples: Sequence[tuple[str, str]],
    *,
    oos_label: str | None = None,
    wrong_answer_cost: float = 1.0,
    folds: int = FOLDS,
    n_jobs: int | None = None,
    encoder: SentenceEncoder | None = None,
    calibrated_like: IntentClassifier | None = None,
    general: Collection[str] = (),
    context: Sequence[tuple[str, str]] = (),
) -> IntentClassifier:
    """Train on (text, label) pairs; rows labelled `oos_label` only tune the threshold.

    Any mix of intents trains: many examples, a few, or one. With `encoder`, sentence
    embeddings join the features (see the module docstring) and the model keeps using
    that encoder to predict. `n_jobs` is accepted for compatibility and unused.

    `calibrated_like`, a model of the same intents trained on most of these examples,
    lends its calibration (score scales, temperature, threshold): the held-out folds,
    most of a training's time, are skipped (a retrain refits its accepted candidate on
    everything this way). Without the same intents and features it trains as usual.

    `general` intents (Concierge's own "hi", "thanks", "bye", "a person", the same in every
    pack) are learnt like the others but never held out as unknowns and never calibrated
    on: their many alike examples would set the score scales, the similarity floor and
    the threshold for the pack's own intents (on the demo's articles alone they cut right
    answers on BANKING77 test from 51% to 20%).

    `context`, (text, intent) pairs that describe an intent without being a customer's
    phrasing (its article's sections after the summary), join the embedding scores at a
    weight chosen on the held-out rows (none of which is such a text), with embeddings only.
    """
    del n_jobs
    texts = np.array([t for t, _ in examples], dtype=object)
    raw = np.array([label for _, label in examples], dtype=object)
    in_scope = raw != oos_label if oos_label else np.ones(len(raw), dtype=bool)
    labels = sorted(set(raw[in_scope]))
    if len(labels) < 2:
        raise ValueError("intent training needs at least two intents")
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[label] for label in raw[in_scope]])
    # TF-IDF is unsupervised: fit it once on every text, then hold out for the SVM alone.
    union = features()
    X = union.fit_transform(texts[in_scope])
    E = None
    if encoder is not None:
        E = encoder.encode(list(texts[in_scope]))
        X = sp.hstack([X, sp.csr_matrix(EMBEDDING_SCALE * E)], format="csr")
    speller = Speller.of([*texts, *(text for text, _ in context)])
    like = calibrated_like
    if like is not None and like.labels == labels and (like.semantic is None) == (E is None):
        return _refit(union, X, E, y, list(texts[in_scope]), like, encoder, speller)
    fixed = np.array([index[label] for label in sorted(set(general) & set(labels))], dtype=int)
    svm_held, nearest_held, known = held_out_scores(X, E, y, len(labels), folds, fixed)
    mine = ~np.isin(y, fixed)  # the pack's own intents' rows: what calibrates
    unknown, known = ~known & mine, known & mine
    svm = _svm().fit(X, y)
    semantic = None
    spread = _spread(svm_held, known)
    missing = svm_held <= MISSING / 2
    held_out = centred(np.where(missing, 0.0, svm_held)) / spread
    if E is not None:
        nearest_spread = _spread(nearest_held, known)
        # the chosen weight is folded into the spread: combine_scores stays as it is
        nearest_spread /= nearest_weight(svm_held, nearest_held, spread, nearest_spread, y, known)
        semantic = semantic_part(encoder.identity, E, y, list(texts[in_scope]), len(labels),
                                 spread, nearest_spread)
        held_out = combine_scores(np.where(missing, 0.0, svm_held),
                                  np.where(missing, 0.0, nearest_held), spread, nearest_spread)
        candidate = described_part(semantic, encoder, context, index)
        semantic, held_out = _with_context(semantic, held_out, candidate, E, y, known, missing)
    held_out = np.where(missing, MISSING, held_out)
    temperature = fit_temperature(held_out[known], y[known], TEMPERATURE_PRIOR[E is not None])
    probs = softmax(held_out / temperature, axis=1)
    confidence = probs.max(axis=1)
    correct = known & (probs.argmax(axis=1) == y)
    # Without embeddings the model's scores are the SVM's own: fold the spread into T.
    model_temperature = temperature if semantic else temperature * spread
    model = IntentClassifier(scorer_from(union, svm), labels, model_temperature, 1.0,
                             semantic, encoder, speller=speller)  # mends what it predicts
    familiar = np.ones(len(y), dtype=bool)
    if nearest_held is not None:  # the similarity floor declines first, whatever the cut
        model.similarity_floor = similarity_floor(nearest_held, y, correct)
        best = np.where(missing, -np.inf, probs).argmax(axis=1)
        familiar = nearest_held[np.arange(len(y)), best] >= model.similarity_floor
    # Real out-of-scope examples, when the pack has them, say what "off-topic" looks like
    # for this deployment; pseudo-unknowns (held-out intents, often near neighbours of the
    # taught ones) stand in only without them, else they push the cut past real wording.
    # An out-of-scope class (the pack's own off-topic examples, learnt like an intent) is
    # already scored among the held-out rows: it stands in for the pseudo-unknowns too.
    if oos_label and (~in_scope).any():
        oos = model.predict_many(list(texts[~in_scope]), alternatives=0)
        oos_confidence = np.array([p.confidence for p in oos])
        oos_familiar = np.array([model.familiar(p.similarity) for p in oos])
    elif OUT_OF_SCOPE in labels:
        oos_confidence, oos_familiar = np.empty(0), np.empty(0, dtype=bool)
    else:
        oos_confidence, oos_familiar = confidence[unknown], familiar[unknown]
    answerable = known & familiar
    model.threshold = sane_threshold(
        confidence[answerable], correct[answerable], oos_confidence[oos_familiar],
        wrong_answer_cost, declined_already=int((~oos_familiar).sum()))
    return model

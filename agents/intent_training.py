"""Training the intent agent (scikit-learn): features, the SVM, calibration, the threshold.

A scikit-learn pipeline: stemmed word uni/bi-gram TF-IDF plus character n-gram TF-IDF
into a Crammer-Singer linear SVM (the most accurate of the linear models we measured on
BANKING77). Its scores become calibrated probabilities by temperature scaling fitted on
out-of-fold scores, and the out-of-scope threshold is chosen on those same held-out
predictions to maximise (right answers - cost x wrong answers), so it is measured, not
guessed.

With a sentence encoder (the optional `semantic` extra, agents/embeddings.py) the
message's embedding joins the features twice: as dense columns beside the TF-IDF ones in
the same SVM, and through a small MLP over the embedding alone whose log-probabilities
are added to the SVM scores. Both choices and their weights were picked by 5-fold
cross-validation on BANKING77's training set (README: "Semantic extra").

The trained model keeps only the fitted arithmetic (`LinearTextScorer`), so predicting
never imports scikit-learn, which in turn imports pandas and pyarrow: together over
150 MB of the engine process. Only this module, imported to train, loads them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, make_union
from sklearn.svm import LinearSVC

from agents.intent import (
    EMBEDDING_SCALE,
    IntentClassifier,
    LinearTextScorer,
    SemanticPart,
    as_matrix,
    centred,
    char_ngrams,
    combine_scores,
    log_probabilities,
    stemmed_terms,
)

if TYPE_CHECKING:  # the encoder module is light, but torch must stay optional
    from agents.embeddings import SentenceEncoder


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


def _mlp() -> MLPClassifier:
    return MLPClassifier((256,), alpha=1e-3, max_iter=60, random_state=0)


def _spread(scores: np.ndarray) -> float:
    return float(centred(scores).std()) or 1.0


def _fit_temperature(scores: np.ndarray, gold: np.ndarray) -> float:
    """Temperature T minimising the log-loss of softmax(scores / T) on held-out scores."""

    def nll(log_t: float) -> float:
        return -float(np.mean(log_softmax(scores / np.exp(log_t), axis=1)[np.arange(len(gold)), gold]))

    return float(np.exp(minimize_scalar(nll, bounds=(-6.0, 3.0), method="bounded").x))


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, wrong_cost: float) -> float:
    """The confidence cut that maximises right answers minus `wrong_cost` x wrong ones.

    Below the cut the assistant asks instead of answering; `correct` is False for rows that
    are out of scope or misclassified, so both kinds of mistake push the cut up.
    """
    order = np.argsort(-confidence)
    gain = np.cumsum(np.where(correct[order], 1.0, -wrong_cost))
    best = int(np.argmax(gain))
    if gain[best] <= 0:
        return float(confidence.max()) + 1e-9
    return float(confidence[order][best])


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


def train(
    examples: Sequence[tuple[str, str]],
    *,
    oos_label: str | None = None,
    wrong_answer_cost: float = 1.0,
    folds: int = 2,
    n_jobs: int | None = None,
    encoder: SentenceEncoder | None = None,
) -> IntentClassifier:
    """Train on (text, label) pairs; rows labelled `oos_label` only tune the threshold.

    With `encoder`, sentence embeddings join the features (see the module docstring)
    and the model keeps using that encoder to predict.
    """
    texts = np.array([t for t, _ in examples], dtype=object)
    raw = np.array([label for _, label in examples], dtype=object)
    in_scope = raw != oos_label if oos_label else np.ones(len(raw), dtype=bool)
    labels = sorted(set(raw[in_scope]))
    if len(labels) < 2:
        raise ValueError("intent training needs at least two intents")
    index = {label: i for i, label in enumerate(labels)}
    y = np.array([index[label] for label in raw[in_scope]])
    # TF-IDF is unsupervised: fit it once on every text, then cross-validate the SVM alone.
    union = features()
    X = union.fit_transform(texts[in_scope])
    n_folds = max(2, min(folds, int(np.bincount(y).min())))
    cv = StratifiedKFold(n_folds, shuffle=True, random_state=0)
    semantic = None
    if encoder is not None:
        embeddings = encoder.encode(list(texts[in_scope]))
        X = sp.hstack([X, sp.csr_matrix(EMBEDDING_SCALE * embeddings)], format="csr")
    held_out = as_matrix(
        cross_val_predict(_svm(), X, y, cv=cv, method="decision_function", n_jobs=n_jobs)
    )
    svm = _svm().fit(X, y)
    if encoder is not None:
        with warnings.catch_warnings():  # small packs stop before converging: fine
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp_held_out = log_probabilities(cross_val_predict(
                _mlp(), embeddings, y, cv=cv, method="predict_proba", n_jobs=n_jobs))
            mlp = _mlp().fit(embeddings, y)
        semantic = SemanticPart(encoder.identity, mlp, _spread(held_out), _spread(mlp_held_out))
        held_out = combine_scores(held_out, mlp_held_out, semantic)
    temperature = _fit_temperature(held_out, y)
    probs = softmax(held_out / temperature, axis=1)
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == y
    model = IntentClassifier(scorer_from(union, svm), labels, temperature, 1.0, semantic, encoder)
    if oos_label and (~in_scope).any():
        oos_scores = model.scores(list(texts[~in_scope]))
        oos_confidence = softmax(oos_scores / temperature, axis=1).max(axis=1)
        confidence = np.concatenate([confidence, oos_confidence])
        correct = np.concatenate([correct, np.zeros(len(oos_confidence), dtype=bool)])
    model.threshold = choose_threshold(confidence, correct, wrong_answer_cost)
    return model

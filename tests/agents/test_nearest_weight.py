"""Training chooses how much the nearest examples weigh against the SVM, on held-out rows."""

from __future__ import annotations

import numpy as np

from agents.intent_training import NEAREST_WEIGHTS, nearest_weight

GOLD = np.array([0, 1, 2, 0, 1, 2])


def _scores(right_by: float, wrong_by: float, gold: np.ndarray, rng) -> np.ndarray:
    """Noise, with each row's gold column up by `right_by` and the next column up by `wrong_by`."""
    scores = rng.normal(0.0, 0.01, (len(gold), 3))
    scores[np.arange(len(gold)), gold] += right_by
    scores[np.arange(len(gold)), (gold + 1) % 3] += wrong_by
    return scores


def test_leans_on_the_nearest_examples_when_they_read_the_held_out_rows_better() -> None:
    rng = np.random.default_rng(0)
    svm = _scores(0.0, 1.0, GOLD, rng)       # the SVM picks the wrong intent, firmly
    nearest = _scores(0.4, 0.0, GOLD, rng)   # the nearest example the right one, less so
    known = np.ones(len(GOLD), dtype=bool)
    assert nearest_weight(svm, nearest, 1.0, 1.0, GOLD, known) == max(NEAREST_WEIGHTS)


def test_never_weighs_the_nearest_examples_less_than_the_svm() -> None:
    rng = np.random.default_rng(1)
    svm = _scores(1.0, 0.0, GOLD, rng)
    nearest = _scores(0.0, 1.0, GOLD, rng)  # as firm as the SVM, and wrong: weigh it least
    known = np.ones(len(GOLD), dtype=bool)
    assert nearest_weight(svm, nearest, 1.0, 1.0, GOLD, known) == min(NEAREST_WEIGHTS) == 1.0


def test_keeps_equal_weights_when_both_agree_or_nothing_was_held_out() -> None:
    rng = np.random.default_rng(2)
    svm, nearest = _scores(1.0, 0.0, GOLD, rng), _scores(1.0, 0.0, GOLD, rng)
    assert nearest_weight(svm, nearest, 1.0, 1.0, GOLD, np.ones(6, dtype=bool)) == 1.0
    assert nearest_weight(svm, nearest, 1.0, 1.0, GOLD, np.zeros(6, dtype=bool)) == 1.0


"""Intent agent: trained on the demo pack, checked on messages written for these tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from agents.intent import OUT_OF_SCOPE, IntentClassifier, char_ngrams, normalise
from agents.intent_cache import train_cached
from agents.intent_training import _svm, choose_threshold, features, scorer_from
from agents.intent_training import train as train_intents

# Written for this test; none of these sentences is in the data pack.
MESSAGES = [
    ("it's been two weeks and my new card is still not in the mailbox", "card_arrival"),
    ("somebody nicked my wallet with my bank card inside", "lost_or_stolen_card"),
    ("I typed the wrong pin too many times and now it is locked", "pin_blocked"),
    ("what do you charge for sending euros abroad with swift", "transfer_fee_charged"),
    ("can i add my card to apple wallet", "apple_pay_or_google_pay"),
    ("the cash machine kept my card", "card_swallowed"),
    ("how do I shut down my account for good", "terminate_account"),
    ("good morning!", "greeting"),
    ("cheers, that sorted it", "thanks"),
    ("let me talk to an actual human please", "human_agent"),
    ("it was really nice talking with you, bye", "goodbye"),  # "talking" is not "a person"
    ("I want to file a formal complaint about how I was treated", "complaint"),
]


@pytest.fixture(scope="module")
def classifier(engine) -> IntentClassifier:
    return engine.agents.classifier


@pytest.mark.parametrize(("message", "expected"), MESSAGES)
def test_predicts_the_intent(classifier: IntentClassifier, message: str, expected: str) -> None:
    prediction = classifier.predict(message)
    assert prediction.best_guess == expected
    assert prediction.intent == expected, f"confidence {prediction.confidence:.2f} under threshold"


def test_prediction_has_calibrated_confidence_and_runners_up(classifier: IntentClassifier) -> None:
    prediction = classifier.predict("my card has not arrived")
    assert 0.0 < prediction.confidence <= 1.0
    assert len(prediction.alternatives) == 3
    assert all(p <= prediction.confidence for _, p in prediction.alternatives)
    assert prediction.best_guess not in {label for label, _ in prediction.alternatives}


@pytest.mark.parametrize("message", ["qwzx plorb vrrk", "what's the capital of Mongolia", "🍕🍕🍕"])
def test_unrelated_text_is_out_of_scope(classifier: IntentClassifier, message: str) -> None:
    prediction = classifier.predict(message)
    assert prediction.intent == OUT_OF_SCOPE
    assert not prediction.in_scope


def test_threshold_maximises_right_minus_wrong() -> None:
    confidence = np.array([0.95, 0.9, 0.8, 0.6, 0.5, 0.3])
    correct = np.array([True, True, True, False, False, True])
    assert choose_threshold(confidence, correct, wrong_cost=1.0) == 0.8
    # when every answer is wrong nothing should be answered
    assert choose_threshold(confidence, np.zeros(6, bool), 1.0) > confidence.max()


def test_oos_rows_tune_the_threshold_but_are_not_a_class() -> None:
    examples = [(f"card {w} arrive", "card_arrival") for w in "abcdefgh"]
    examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdefgh"]
    examples += [(f"weather {w} today", "oos") for w in "abcdefgh"]
    model = train_intents(examples, oos_label="oos")
    assert model.labels == ["card_arrival", "pin_blocked"]
    assert 0.0 < model.threshold <= 1.0


def test_trained_model_is_cached_by_data_hash(tmp_path, monkeypatch) -> None:
    examples = [(f"card {w} arrive", "card_arrival") for w in "abcdef"]
    examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdef"]
    first = train_cached(examples, tmp_path)
    assert len(list(tmp_path.glob("intent-*.joblib"))) == 1

    def no_training(*args, **kwargs):
        raise AssertionError("retrained although the data did not change")

    monkeypatch.setattr("agents.intent_training.train", no_training)
    again = train_cached(examples, tmp_path)
    assert again.threshold == first.threshold and again.labels == first.labels
    with pytest.raises(AssertionError):
        train_cached(examples + [("card z arrive", "card_arrival")], tmp_path)


def test_a_refit_borrows_the_calibration_and_skips_the_held_out_folds(engine, monkeypatch) -> None:
    examples = list(engine.pack.examples)
    most = examples[::2] + examples[1::4]  # three quarters of them, every intent kept
    like = train_intents(most, encoder=engine.encoder)
    held_out = []
    monkeypatch.setattr("agents.intent_training.held_out_scores",
                        lambda *args, **kwargs: held_out.append(1) or pytest.fail("folds ran"))
    refit = train_intents(examples, encoder=engine.encoder, calibrated_like=like)
    assert held_out == [] and refit.labels == like.labels
    assert (refit.temperature, refit.threshold) == (like.temperature, like.threshold)
    if like.semantic is not None:  # the encoder may be off (CONCIERGE_EMBEDDINGS=off)
        assert refit.semantic.svm_spread == like.semantic.svm_spread
        assert len(refit.semantic.texts) == len(examples) > len(like.semantic.texts)
    unseen = [t for t, _ in examples[3::4]]  # rows the borrowed model never saw
    gold = [i for _, i in examples[3::4]]
    def right(model) -> int:
        return sum(p.best_guess == g for p, g in zip(model.predict_many(unseen), gold, strict=True))

    assert right(refit) > max(right(like), 0.99 * len(gold))  # trained on them now
    fewer = [(t, i) for t, i in examples if i != examples[0][1]]  # one intent less
    monkeypatch.undo()
    assert train_intents(fewer, calibrated_like=like).labels != like.labels  # trained anew


TRICKY_TEXTS = ["I can't  find\tmy card!", "a", "  ", "pin 1234 blocked??", "Ünïcödé wörds ok",
                "x y z", "don't   won’t", "🍕 pizza 🍕"]


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_char_ngrams_are_scikit_learns_char_wb(text: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), preprocessor=normalise)
    assert char_ngrams(text) == reference.build_analyzer()(text)


def test_scorer_equals_the_fitted_pipeline(engine) -> None:
    texts = [t for t, _ in engine.pack.examples[::7]]
    labels = [label for _, label in engine.pack.examples[::7]]
    union = features()
    svm = _svm().fit(union.fit_transform(texts), labels)
    scorer = scorer_from(union, svm)
    probe = [m for m, _ in MESSAGES] + TRICKY_TEXTS
    expected = svm.decision_function(union.transform(probe))
    assert np.allclose(np.vstack([scorer.score(t) for t in probe]), expected, atol=1e-9)


def test_a_two_intent_model_predicts_either_intent() -> None:
    examples = [(f"card {w} arrive", "card_arrival") for w in "abcdef"]
    examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdef"]
    model = train_intents(examples)
    assert model.predict("card q arrive").best_guess == "card_arrival"
    assert model.predict("pin q blocked").best_guess == "pin_blocked"


def test_a_cached_model_predicts_without_importing_scikit_learn(tmp_path) -> None:
    """scikit-learn imports pandas and pyarrow (over 150 MB): the engine never needs them."""
    examples = [(f"card {w} arrive", "card_arrival") for w in "abcdef"]
    examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdef"]
    examples += [(f"top up {w} failed", "top_up_failed") for w in "abcdef"]
    train_cached(examples, tmp_path)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from agents.intent_cache import train_cached
        examples = {examples!r}
        model = train_cached(examples, Path({str(tmp_path)!r}))
        print(model.predict("pin q blocked").best_guess)
        print(sorted(m for m in ("sklearn", "pandas", "pyarrow") if m in sys.modules))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=120, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["pin_blocked", "[]"]


TITLES = [
    ("How do I activate my card?", "activate"), ("When will my card arrive?", "arrival"),
    ("How do I change my PIN?", "pin"), ("What exchange rate do you use?", "rates"),
    ("Why was my transfer declined?", "declined"), ("How do I close my account?", "close"),
    ("Can I use Apple Pay?", "wallet"), ("What are the ATM fees?", "atm"),
]


@pytest.mark.parametrize("extra", [0, 1, 5], ids=["one-each", "one-more", "mixed"])
def test_any_mix_of_examples_trains_with_a_sane_threshold(extra: int) -> None:
    """One example per intent (an articles-only pack) or a mix: no fold error, no NaN."""
    examples = TITLES + [(f"activate card {i} please", "activate") for i in range(extra)]
    model = train_intents(examples)
    assert 0.0 < model.threshold < 1.0
    assert np.isfinite(model.temperature)
    assert model.predict("How do I activate my card?").best_guess == "activate"


def test_an_intents_second_nearest_example_counts_beside_its_nearest() -> None:
    from agents.intent import SECOND_NEAREST_WEIGHT, SemanticPart

    def part(starts: list[int]) -> SemanticPart:
        return SemanticPart("test", np.zeros((6, 2), np.float16), np.array(starts), ("",) * 6,
                            1.0, 1.0)

    similarities = np.array([[0.9, 0.2, 0.8, 0.5, 0.1, 0.0]], np.float32)
    mixed = (0.8 + SECOND_NEAREST_WEIGHT * 0.5) / (1 + SECOND_NEAREST_WEIGHT)
    # one example: its own similarity; three: the nearest with the second mixed in
    assert part([0, 1, 4]).nearest(similarities)[0] == pytest.approx([0.9, mixed, 0.1])
    # two (an article's title and summary): the nearer one alone
    assert part([0, 1, 3, 5]).nearest(similarities)[0] == pytest.approx([0.9, 0.8, 0.5, 0.0])
    # one stray close example (intent 0) loses to several fairly close ones (intent 1)
    stray = part([0, 3]).nearest(np.array([[0.85, 0.1, 0.1, 0.8, 0.75, 0.7]], np.float32))[0]
    assert stray.argmax() == 1


def test_general_intents_are_learnt_but_never_held_out_nor_calibrated_on(monkeypatch) -> None:
    """Concierge's own conversation intents (the same many alike examples in every pack)
    are predicted like any other, but the pack's own rows alone set the threshold."""
    import agents.intent_training as training

    chat = [(f"{hello} there{mark}", "greeting") for hello in ("hi", "hello", "hey", "hiya")
            for mark in ("", "!", ",", " :)", " again")]
    examples = TITLES + chat
    rows, labels = np.array([label for _, label in examples]), sorted({l for _, l in examples})
    y = np.searchsorted(labels, rows)
    greeting = labels.index("greeting")
    _, label_fold = training.fold_plan(y, len(labels), never_left_out=np.array([greeting]))
    assert label_fold[greeting] == -1 and (np.delete(label_fold, greeting) >= 0).all()

    calibrated_on: list[int] = []
    sane = training.sane_threshold
    monkeypatch.setattr(training, "sane_threshold", lambda confidence, *args, **kwargs:
                        calibrated_on.append(len(confidence)) or sane(confidence, *args, **kwargs))
    model = train_intents(examples, general={"greeting"})
    assert model.predict("hello there, anybody around").best_guess == "greeting"
    train_intents(examples)
    with_general, without = calibrated_on
    assert with_general <= len(TITLES) < without  # the 20 greetings set no threshold


def test_each_label_scores_its_best_describing_text_and_the_rest_the_mean() -> None:
    from agents.intent import label_best

    similarities = np.array([[0.1, 0.7, 0.3, 0.9]])
    # columns 0-1 describe label 0, columns 2-3 label 2; label 1 has no text of its own
    out = label_best(similarities, np.array([0, 2]), np.array([0, 2]), 3)
    assert out[0] == pytest.approx([0.7, 0.8, 0.9])


def test_describing_texts_weigh_only_as_much_as_the_held_out_rows_favour() -> None:
    from agents.intent_training import CONTEXT_WEIGHTS, context_weight

    y = np.array([0, 1, 2, 3])
    base = np.array([[1.0, 1.1, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 1.2], [0, 0, 0, 1.0]])
    helps = np.eye(4)  # each row's own label is the one its describing text matches
    known, missing = np.ones(4, dtype=bool), np.zeros((4, 4), dtype=bool)
    assert context_weight(base, helps, 1.0, y, known, missing) > 0
    misleads = np.roll(np.eye(4), 1, axis=1)
    assert context_weight(base, misleads, 1.0, y, known, missing) == 0.0
    assert context_weight(base, helps, 1.0, y, np.zeros(4, dtype=bool), missing) == 0.0
    assert min(CONTEXT_WEIGHTS) == 0.0  # leaving them out is always a choice

"""The evaluation protocols: few-shot samples, held-out intents, the predictions file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from core.engine.evaluation import evaluate_intents
from core.engine.protocols import (
    PREDICTION_COLUMNS,
    ProtocolError,
    hold_out_intents,
    sample_shots,
    with_typos,
)
from tests.cli.test_cli import concierge
from tests.conftest import need_banking77
from tests.support import unavailable

TRAIN = [(f"{label} message number {n}", label) for label in "abcdefgh" for n in range(12)]
TRAIN += [("d is special", "d")]


def test_shots_draw_n_rows_per_intent_the_same_way_for_a_seed() -> None:
    first = sample_shots(TRAIN, 3, seed=0)
    assert Counter(label for _, label in first) == {label: 3 for label in "abcdefgh"}
    assert set(first) <= set(TRAIN)
    assert sample_shots(TRAIN, 3, seed=0) == first
    assert sample_shots(TRAIN, 3, seed=1) != first
    small = sample_shots([*TRAIN, ("z only", "z")], 3, seed=0)
    assert ("z only", "z") in small  # fewer rows than shots: all of them
    with pytest.raises(ProtocolError, match="at least 1"):
        sample_shots(TRAIN, 0)


def test_held_out_intents_never_reach_training_and_count_as_out_of_scope() -> None:
    test = [(f"{label} test", label) for label in "abcdefgh"] + [("off topic", "oos")]
    train, relabelled, unknown = hold_out_intents(TRAIN, test, 0.25, "oos", seed=0)
    assert len(unknown) == 2
    assert not {label for _, label in train} & set(unknown)
    assert {label for _, label in train} == set("abcdefgh") - set(unknown)
    assert [t for t, _ in relabelled] == [t for t, _ in test]
    for (_, gold), (_, now) in zip(test, relabelled):
        assert now == ("oos" if gold in unknown or gold == "oos" else gold)
    assert hold_out_intents(TRAIN, test, 0.25, "oos", seed=0)[2] == unknown
    seeds = {tuple(hold_out_intents(TRAIN, test, 0.25, "oos", seed=s)[2]) for s in range(5)}
    assert len(seeds) > 1
    for ratio in (0.0, 1.0, -0.5):
        with pytest.raises(ProtocolError, match="between 0 and 1"):
            hold_out_intents(TRAIN, test, ratio, "oos")
    assert len(hold_out_intents(TRAIN, test, 0.99, "oos")[2]) == 6  # two intents stay


SMALL = [
    ("where is my card", "card_arrival"), ("my card has not arrived", "card_arrival"),
    ("card still not delivered", "card_arrival"), ("when does my card come", "card_arrival"),
    ("change my pin", "change_pin"), ("i want a new pin", "change_pin"),
    ("how to reset the pin number", "change_pin"), ("pin change at an atm", "change_pin"),
    ("what is the exchange rate", "exchange_rate"), ("rate for euros", "exchange_rate"),
    ("how much is a dollar in pounds", "exchange_rate"), ("currency rates today", "exchange_rate"),
]


def edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) between two words."""
    d = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def test_typos_change_one_long_word_by_one_edit_the_same_way_for_a_seed() -> None:
    rows = SMALL + [("my pin", "change_pin")]
    typed = with_typos(rows, seed=0)
    assert typed == with_typos(rows, seed=0) and typed != with_typos(rows, seed=1)
    assert [label for _, label in typed] == [label for _, label in rows]
    for (text, _), (typo, _) in zip(rows, typed):
        changed = [(a, b) for a, b in zip(text.split(), typo.split()) if a != b]
        if any(len(w) >= 5 and w.isalpha() for w in text.split()):
            assert len(changed) == 1, (text, typo)
            (word, typed_word), = changed
            assert len(word) >= 5 and edits(word, typed_word) == 1
            assert (word[0], word[-1]) == (typed_word[0], typed_word[-1])
        else:
            assert typo == text


def test_predictions_file_has_every_row_with_gold_prediction_and_route(tmp_path) -> None:
    test = [("my card never arrived", "card_arrival"), ("new pin please", "change_pin"),
            ("who won the football", "oos")]
    out = tmp_path / "sub" / "predictions.csv"
    result = evaluate_intents(SMALL, test, "oos", predictions=out)
    assert 0.0 <= result["macro_f1"] <= 1.0 and result["predictions"] == str(out)
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == PREDICTION_COLUMNS
    assert [(r["text"], r["gold"]) for r in rows] == test
    for row in rows:
        assert row["route"] == ("clarify" if row["predicted"] == "oos" else "answer")
        assert row["best_guess"] in {"card_arrival", "change_pin", "exchange_rate"}
        assert 0.0 < float(row["confidence"]) <= 1.0


def test_eval_intents_command_runs_the_protocols(tmp_path, model_dir) -> None:
    rows = SMALL * 2 + [("what about the weather", "weather"), ("is it raining", "weather"),
                        ("sunny tomorrow?", "weather"), ("forecast please", "weather")] * 2
    for name, data in (("train.csv", rows), ("test.csv", rows)):
        with (tmp_path / name).open("w", newline="") as handle:
            csv.writer(handle).writerows([("text", "category"), *data])
    args = ("eval", "intents", "--train", str(tmp_path / "train.csv"), "--test",
            str(tmp_path / "test.csv"), "--json", "--seed", "1")
    run = concierge(*args, "--shots", "2", "--unknown-ratio", "0.25", "--predictions",
                    str(tmp_path / "p.csv"), state=tmp_path / "s", model_dir=model_dir)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert (result["shots"], result["seed"], result["unknown_intents"], result["train_rows"]) == (
        2, 1, 1, 6)
    assert {"accuracy", "in_scope_accuracy", "oos_recall", "macro_f1"} <= set(result)
    with (tmp_path / "p.csv").open(newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == len(rows)
    bad = concierge(*args, "--unknown-ratio", "1.5", state=tmp_path / "s", model_dir=model_dir)
    assert bad.returncode == 1 and "between 0 and 1" in bad.stderr
    for spelling in ("on", "off"):
        typed = concierge(*args, "--typos", state=tmp_path / "s", model_dir=model_dir,
                          env={"CONCIERGE_SPELLING": spelling})
        assert typed.returncode == 0, typed.stderr
        result = json.loads(typed.stdout)
        assert (result["typos"], result["spelling"]) == (True, spelling)


def test_eval_engine_on_the_demo_articles_alone(tmp_path, model_dir) -> None:
    rows = [("text", "category"), ("my new card still has not arrived", "card_arrival"),
            ("how do I activate my card", "activate_my_card"),
            ("I lost my card", "lost_or_stolen_card")]
    with (tmp_path / "test.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    run = concierge("eval", "engine", "--articles-only", "--test", str(tmp_path / "test.csv"),
                    "--predictions", str(tmp_path / "p.csv"), "--json",
                    state=tmp_path / "s", model_dir=model_dir)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["articles_only"] is True and result["articles"] == 82 and result["n"] == 3
    assert result["resolution_accuracy"] >= 2 / 3
    with (tmp_path / "p.csv").open(newline="") as handle:
        assert [r["gold"] for r in csv.DictReader(handle)] == [g for _, g in rows[1:]]


@pytest.mark.slow
def test_banking77_ten_shots_through_the_cli(tmp_path) -> None:
    """The paper's 10-shot protocol as a user runs it; a floor under the README figure."""
    from agents.embeddings import available

    if not available():
        unavailable("the shipped encoder (onnxruntime, tokenizers, agents/encoder/) is missing")
    folder = need_banking77()
    result = subprocess.run(
        [sys.executable, "-m", "core.cli", "eval", "intents", "--train", str(folder / "train.csv"),
         "--test", str(folder / "test.csv"), "--shots", "10", "--seed", "0", "--json",
         "--predictions", str(tmp_path / "p.csv")],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "CONCIERGE_EMBEDDINGS": "auto", "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert (figures["shots"], figures["train_rows"], figures["n"]) == (10, 770, 3080)
    assert figures["accuracy"] >= 0.80, figures

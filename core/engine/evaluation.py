"""Offline evaluation: intent accuracy on a labelled CSV, and the whole engine on one.

`evaluate_intents` trains on one CSV and scores another; `evaluate_engine` sends every
test query through the full workflow on the demo pack and checks both the intent and
whether the top cited article is the one written for the gold intent. Both can write
every test row's prediction to a CSV (core/engine/protocols.py has the few-shot and
held-out-intent protocols that shape the training data first).
"""

from __future__ import annotations

import csv
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import f1_score

from agents.intent import OUT_OF_SCOPE
from agents.intent_training import train as train_intents
from core.engine.engine import Engine
from core.engine.protocols import write_predictions
from core.engine.workflow import route_turn

if TYPE_CHECKING:
    from agents.embeddings import SentenceEncoder


class EvalInputError(ValueError):
    """The CSV or its columns cannot be used."""


def read_labelled_csv(path: Path, text_col: str, label_col: str) -> list[tuple[str, str]]:
    """(text, label) rows with both filled in; EvalInputError, naming the file, otherwise.

    Spreadsheet exports load as they are: a byte-order mark and spaces around the column
    names are ignored."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
            missing = {text_col, label_col} - set(reader.fieldnames)
            if missing:
                found = ", ".join(reader.fieldnames) or "none"
                raise EvalInputError(f"{path}: no column(s) {', '.join(sorted(missing))} "
                                     f"(found: {found}; see --text-col/--label-col)")
            rows = [(r[text_col], r[label_col].strip()) for r in reader
                    if r[text_col] and (r[label_col] or "").strip()]
    except FileNotFoundError:
        raise EvalInputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EvalInputError(f"{path}: is a folder, not a CSV file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EvalInputError(f"{path}: not a readable UTF-8 CSV ({exc})") from None
    if not rows:
        raise EvalInputError(f"{path}: no labelled rows")
    return rows


ROUTES = {"retrieve_passages": "answer", "reply_smalltalk": "smalltalk",
          "ask_clarification": "clarify", "hand_off": "handoff"}
"""The route the workflow takes for an intent, by the name the engine's turns report."""


def evaluate_intents(
    train: list[tuple[str, str]], test: list[tuple[str, str]], oos_label: str | None = None,
    encoder: SentenceEncoder | None = None, predictions: Path | None = None,
    spelling: bool = True,
) -> dict:
    """Train on `train`, score `test`; with `encoder`, embeddings join the features;
    `spelling` mends the test messages' typos (as the engine does) or reads them as sent.

    `train_seconds` includes encoding the training texts; `predict_ms` is per test query,
    predicted in one batch (the test texts are encoded in batches). With `oos_label`,
    out of scope is a possible answer: accuracy and macro F1 (over every gold label,
    out of scope included) score the thresholded intent. `predictions` gets every row.
    """
    started = time.perf_counter()
    model = train_intents(train, oos_label=oos_label, encoder=encoder).with_spelling(spelling)
    train_seconds = time.perf_counter() - started
    texts = [t for t, _ in test]
    started = time.perf_counter()
    predicted = model.predict_many(texts)
    predict_ms = (time.perf_counter() - started) * 1000 / len(texts)
    gold = np.array([label for _, label in test], dtype=object)
    best = np.array([p.best_guess for p in predicted], dtype=object)
    result = {
        "accuracy": round(float(np.mean(best == gold)), 4),
        "train_seconds": round(train_seconds, 2),
        "predict_ms": round(predict_ms, 4),
        "n": len(test),
        "threshold": round(model.threshold, 4),
        "embeddings": model.embeddings,
        "spelling": "on" if model.speller is not None else "off",
    }
    if oos_label:  # out of scope is then a possible answer: score the thresholded intent
        chosen = np.array([oos_label if p.intent == OUT_OF_SCOPE else p.intent
                           for p in predicted], dtype=object)
        oos = gold == oos_label
        result["accuracy"] = round(float(np.mean(chosen == gold)), 4)
        result["in_scope_accuracy"] = round(float(np.mean(chosen[~oos] == gold[~oos])), 4)
        result["oos_recall"] = round(float(np.mean(chosen[oos] == oos_label)), 4) if oos.any() else None
    else:
        chosen = best
    result["macro_f1"] = round(float(f1_score(gold, chosen, labels=sorted(set(gold)),
                                              average="macro", zero_division=0)), 4)
    if predictions is not None:
        write_predictions(predictions, (
            (text, label, said, p.best_guess, round(p.confidence, 4),
             ROUTES[route_turn({"intent": p.intent})])
            for (text, label), said, p in zip(test, chosen, predicted)))
        result["predictions"] = str(predictions)
    return result


def evaluate_engine(engine: Engine, test: list[tuple[str, str]], oos_label: str | None = None,
                    predictions: Path | None = None) -> dict:
    """Every query through the full workflow, each on a fresh thread.

    `predictions` gets every row: the turn's intent, best guess, confidence and route.
    """
    article_intents = {a.id: set(a.intents) for a in engine.pack.articles}
    intent_hits = resolved = declined = n_oos = 0
    latencies = []
    rows = []
    for text, gold in test:
        started = time.perf_counter()
        state = engine.run_turn(uuid.uuid4().hex, text)
        latencies.append((time.perf_counter() - started) * 1000)
        rows.append((text, gold, state.get("intent"), state.get("best_guess"),
                     round(state.get("confidence") or 0.0, 4), state.get("route")))
        top = state.get("sources") or []
        answered_from = article_intents.get(top[0]["id"], set()) if top else set()
        if gold == oos_label:
            n_oos += 1
            declined += state["route"] != "answer"
            continue
        intent_hits += state.get("intent") == gold
        resolved += gold in answered_from
    n_in = len(test) - n_oos
    result = {
        "intent_accuracy": round(intent_hits / n_in, 4) if n_in else None,
        "resolution_accuracy": round(resolved / n_in, 4) if n_in else None,
        "n": len(test),
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
    }
    if oos_label:
        result["oos_decline_rate"] = round(declined / n_oos, 4) if n_oos else None
    if predictions is not None:
        write_predictions(predictions, rows)
        result["predictions"] = str(predictions)
    return result

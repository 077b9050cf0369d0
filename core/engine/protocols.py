"""Evaluation protocols: few-shot training sets, held-out (unknown) intents, predictions.

`sample_shots` keeps N training rows per intent (the few-shot protocol of the BANKING77
paper); `hold_out_intents` removes a share of the intents from training entirely and
relabels their test rows as out of scope (the open-intent protocol: the model must
decline what it was never taught). Both draw with `random.Random` seeded from the given
seed, so a seed always gives the same sample. `with_typos` puts one typo in each test
message (how well are real, hurried customers read?). `write_predictions` writes one CSV
row per test message, to see what went wrong.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

Rows = list[tuple[str, str]]


class ProtocolError(ValueError):
    """The protocol's options do not fit the data."""


def sample_shots(train: Sequence[tuple[str, str]], shots: int, seed: int = 0) -> Rows:
    """`shots` rows per label, drawn without replacement (every row of a smaller label)."""
    if shots < 1:
        raise ProtocolError("--shots must be at least 1")
    by_label: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in train:
        by_label[row[1]].append(row)
    rng = random.Random(f"shots:{seed}")
    picked: Rows = []
    for label in sorted(by_label):
        rows = by_label[label]
        picked.extend(rows if len(rows) <= shots else rng.sample(rows, shots))
    return picked


def hold_out_intents(
    train: Sequence[tuple[str, str]], test: Sequence[tuple[str, str]], ratio: float,
    oos_label: str, seed: int = 0,
) -> tuple[Rows, Rows, list[str]]:
    """Train without a share `ratio` of the intents; their test rows become `oos_label`.

    Returns the training rows, the relabelled test rows and the held-out intents. Rows
    already labelled `oos_label` stay as they are.
    """
    if not 0.0 < ratio < 1.0:
        raise ProtocolError("--unknown-ratio must be between 0 and 1 (exclusive)")
    labels = sorted({label for _, label in train} - {oos_label})
    count = min(max(1, round(ratio * len(labels))), len(labels) - 2)
    if count < 1:
        raise ProtocolError("holding intents out needs at least three intents in training")
    unknown = sorted(random.Random(f"unknown:{seed}").sample(labels, count))
    held = set(unknown)
    kept = [row for row in train if row[1] not in held]
    relabelled = [(text, oos_label if label in held else label) for text, label in test]
    return kept, relabelled, unknown


TYPO_FROM = 5
"""Words this long or longer may get the typo (shorter ones are often names or acronyms)."""


def with_typos(rows: Sequence[tuple[str, str]], seed: int = 0) -> Rows:
    """Each message with one typo in one of its words of `TYPO_FROM`+ letters: two
    neighbouring letters swapped, one dropped or one doubled (never the first or last
    letter); messages without such a word are kept as they are."""
    rng = random.Random(f"typos:{seed}")
    out: Rows = []
    for text, label in rows:
        words = text.split()
        long = [i for i, word in enumerate(words) if len(word) >= TYPO_FROM and word.isalpha()]
        if long:
            i = rng.choice(long)
            words[i] = _typo(words[i], rng)
        out.append((" ".join(words), label))
    return out


def _typo(word: str, rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:  # swap letters `at` and `at + 1`, both inside the word
        at = rng.randrange(1, len(word) - 2)
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    at = rng.randrange(1, len(word) - 1)
    if kind == 1:
        return word[:at] + word[at + 1:]
    return word[:at] + word[at] + word[at:]


PREDICTION_COLUMNS = ("text", "gold", "predicted", "best_guess", "confidence", "route")


def write_predictions(path: Path, rows: Iterable[Sequence[object]]) -> int:
    """One CSV row per test message (columns `PREDICTION_COLUMNS`); the count written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PREDICTION_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
    tmp.replace(path)
    return count

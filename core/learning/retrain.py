"""One retrain: a candidate intent model, scored against the live one on held-out data.

Held out, the same rows every time: one in five labelled examples (by id) and one in five
of the pack's examples (by a hash of the text), so a batch of labels is judged both on
labels it did not train on and on what the assistant already knew. Two models are
trained without those rows: "before" on the live data, "after" on the live data plus the
new labels (the "before" model is usually still in the scoring cache from the previous
retrain). Each is scored by accuracy on the held-out rows. The candidate is refused when
it gets more held-out rows wrong than the live model, beyond one row or `TOLERANCE` of
them (retraining with a handful of new rows moves a borderline prediction or two either
way, which is noise, not a worse model). An accepted candidate
is refitted once more on everything (held-out rows too), keeping the candidate's
calibration (so without the held-out folds that most of a training takes), and that
model goes live.

With sentence embeddings, encoding the texts is most of a training's time, and the
three trainings share almost all their texts: `RememberingEncoder` encodes each text
once per process, so a retrain encodes only its new labels after the first.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from core.engine.datapack import DataPack, training_examples
from core.engine.engine import train_intents

HOLD_OUT_ONE_IN = 5
TOLERANCE = 0.005
"""Share of the held-out rows a candidate may lose against the live model and still go live
(at least one row)."""

Row = tuple[int, str, str]
"""A labelled example: (id, text, intent)."""


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    score_before: float
    score_after: float
    held_out: int
    reason: str
    model: Any | None = None
    """The model trained on everything, when accepted."""


class RememberingEncoder:
    """The engine's encoder for training only: each text is encoded once per process
    (the live model gets the plain encoder back; see `retrain`)."""

    def __init__(self, encoder: Any):
        self.encoder = encoder
        self.identity = encoder.identity
        self._rows: dict[str, Any] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if missing:
            rows = self.encoder.encode(missing)
            with self._lock:
                self._rows.update(zip(missing, rows, strict=True))
        with self._lock:
            return np.vstack([self._rows[t] for t in texts])


def held_out_text(text: str) -> bool:
    """Whether a pack example is held out (stable: a hash of its text)."""
    return hashlib.sha256(text.encode("utf-8")).digest()[0] % HOLD_OUT_ONE_IN == 0


def held_out_label(label_id: int) -> bool:
    return label_id % HOLD_OUT_ONE_IN == 0


def accuracy(model: Any, rows: Sequence[tuple[str, str]]) -> float:
    """Share of rows whose predicted intent (out of scope under the threshold) is the gold one."""
    if not rows:
        return 1.0
    predictions = model.predict_many([text for text, _ in rows])
    return sum(p.intent == gold for p, (_, gold) in zip(predictions, rows, strict=True)) / len(rows)


def split(pack: DataPack, rows: Sequence[Row]) -> tuple[list, list]:
    """(training examples, held-out examples) of the pack plus these labels."""
    pack_train = [e for e in pack.examples if not held_out_text(e[0])]
    pack_test = [e for e in pack.examples if held_out_text(e[0])]
    labels_train = [(t, i) for label_id, t, i in rows if not held_out_label(label_id)]
    labels_test = [(t, i) for label_id, t, i in rows if held_out_label(label_id)]
    return pack_train + labels_train, pack_test + labels_test


def retrain(settings: Settings, pack: DataPack, encoder: Any | None,
            live: Sequence[Row], new: Sequence[Row]) -> Outcome:
    """Score the live labels' model and the one with `new` added; train the winner on all."""
    scoring = settings.model_cache_dir / "scoring"
    before_train, _ = split(pack, live)
    after_train, test = split(pack, [*live, *new])
    # the held-out rows are those of live + new: the new labels' held-out part counts too
    before = train_intents(settings, before_train, encoder, scoring, **pack.training_options)
    after = train_intents(settings, after_train, encoder, scoring, **pack.training_options)
    score_before, score_after = accuracy(before, test), accuracy(after, test)
    measured = (f"held-out accuracy {score_after:.3f} (live model {score_before:.3f}) "
                f"on {len(test):,} examples")
    if (score_before - score_after) * len(test) > max(1.0, TOLERANCE * len(test)) + 1e-9:
        return Outcome(False, score_before, score_after, len(test),
                       f"not put live: {measured}, worse than the live model")
    everything = training_examples(pack, [(t, i) for _, t, i in [*live, *new]])
    model = train_intents(settings, everything, encoder, calibrated_like=after,
                          **pack.training_options)
    if isinstance(encoder, RememberingEncoder):  # predicting uses the engine's own encoder
        model = model.attach(encoder.encoder)
    return Outcome(True, score_before, score_after, len(test), f"put live: {measured}", model)

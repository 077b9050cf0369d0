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
is trained once more on everything (held-out rows too), and that model goes live.
"""

from __future__ import annotations

import hashlib
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
    before = train_intents(settings, before_train, encoder, scoring)
    after = train_intents(settings, after_train, encoder, scoring)
    score_before, score_after = accuracy(before, test), accuracy(after, test)
    measured = (f"held-out accuracy {score_after:.3f} (live model {score_before:.3f}) "
                f"on {len(test):,} examples")
    if (score_before - score_after) * len(test) > max(1.0, TOLERANCE * len(test)) + 1e-9:
        return Outcome(False, score_before, score_after, len(test),
                       f"not put live: {measured}, worse than the live model")
    everything = training_examples(pack, [(t, i) for _, t, i in [*live, *new]])
    model = train_intents(settings, everything, encoder)
    return Outcome(True, score_before, score_after, len(test), f"put live: {measured}", model)

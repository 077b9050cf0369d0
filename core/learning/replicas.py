"""Every replica on the live intent model.

A replica notices a newer live `ModelVersion` with one indexed query (`sync`, run by
`watch` every few seconds) and loads the same model: from the model cache when the
replicas share it (the cache is keyed by a hash of the training data), or by training it
on the live labels itself, on the watching thread, while turns keep being answered by
the model it has.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.engine.datapack import training_examples
from core.engine.engine import Engine, train_intents
from core.learning import labels
from core.storage.models import ModelVersion

log = logging.getLogger("concierge.learning")


def live_version(session: Session) -> int:
    """The newest live model version, 0 when only the pack is live."""
    return session.scalar(select(func.max(ModelVersion.id))
                          .where(ModelVersion.status == "live")) or 0


def live_labelled(session: Session) -> tuple[int, list[tuple[str, str]]]:
    """The live model version (0: the pack alone) and its labelled (text, intent) pairs."""
    return live_version(session), [(t, i) for _, t, i in labels.training_rows(session, ["live"])]


class ModelFollower:
    def __init__(self, sessions: sessionmaker[Session], engine: Engine, settings: Settings):
        self.sessions = sessions
        self.engine = engine
        self.settings = settings

    def sync(self) -> bool:
        """Switch to a newer live model if there is one (one indexed query when there is not)."""
        with self.sessions() as session:
            if live_version(session) == self.engine.model_version:
                return False
            version, rows = live_labelled(session)
        model = train_intents(self.settings, training_examples(self.engine.pack, rows),
                              self.engine.encoder, **self.engine.pack.training_options)
        self.engine.use_model(model, version)
        return True

    def watch(self, interval_s: float) -> threading.Event:
        """`sync` every `interval_s` seconds on a background thread (set the event to stop)."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_s):
                try:
                    self.sync()
                except Exception:
                    log.exception("could not load the live intent model")

        threading.Thread(target=loop, name="model-watch", daemon=True).start()
        return stop

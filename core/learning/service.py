"""LearningService: labels in, retrains in the background, every replica on the live model.

Adding labels (a supervisor's click, `concierge examples import`) stores them pending
and wakes this process's retrain worker; no request waits for training. A retrain runs
on one worker thread and records a `ModelVersion` row: `live` (this engine switches to
the new model at once), `refused` (it scored worse on held-out data; the reason is kept
and shown) or `failed` (the error; the labels stay pending for the next try). Whatever
happens, the app keeps serving with the model it had. Other replicas follow through
core.learning.replicas.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.engine.engine import Engine
from core.learning import labels, retrain
from core.learning.replicas import ModelFollower
from core.learning.review_queue import ReviewFilter, ReviewItem, needs_review
from core.security import audit
from core.security.auth import Principal, require
from core.storage.models import LabelledExample, Message, ModelVersion, Turn, utcnow

PERMISSION = "monitoring:review"
HEARTBEAT_S = 10.0
"""How often a running retrain marks its version alive (`heartbeat_at`)."""
LEASE = timedelta(minutes=1)
"""A retrain whose heartbeat is older than this died with its process: it is marked failed
and another may start."""
RETRY_S = 15.0
"""With another replica's retrain running, how long before this one looks again (its
pending labels are retrained then, not left until the next label)."""
log = logging.getLogger("concierge.learning")


class TurnNotFound(LookupError):
    """No such turn (it may have been deleted)."""


@dataclass(frozen=True)
class VersionView:
    id: int
    created_at: datetime
    status: str
    reason: str | None
    requested_by: str | None
    labels_total: int
    labels_new: int
    held_out: int
    score_before: float | None
    score_after: float | None
    train_seconds: float | None


class LearningService:
    def __init__(self, sessions: sessionmaker[Session], engine: Engine, settings: Settings):
        self.sessions = sessions
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._blocked = False
        """The last attempt found another replica's retrain running, with labels pending."""
        self._requested_by: str | None = None
        self._worker: threading.Thread | None = None
        self._start = threading.Lock()
        self._training = threading.Lock()
        self.idle = threading.Event()
        """Set while no retrain is queued or running in this process (tests wait on it)."""
        self.idle.set()
        self.follower = ModelFollower(sessions, engine, settings)
        self._encoder = retrain.RememberingEncoder(engine.encoder) if engine.encoder else None

    # -- labels -----------------------------------------------------------------------

    def label_turn(self, user: Principal, turn_id: int, label: str,
                   client: str | None = None) -> int:
        """Label the customer message of a turn; a new label replaces the turn's earlier one."""
        require(user, PERMISSION)
        with self.sessions.begin() as session:
            turn = session.get(Turn, turn_id) if isinstance(turn_id, int) else None
            if turn is None:
                raise TurnNotFound("That turn no longer exists.")
            resolved = labels.resolve(self.engine.pack, label, predicted=turn.intent)
            text = labels.clean_text(session.get(Message, turn.question_id).body)
            session.execute(update(LabelledExample).where(LabelledExample.turn_id == turn_id)
                            .values(status="replaced"))
            label_id = labels.add(session, text=text, resolved=resolved, source="review",
                                  by=user.username, turn_id=turn_id, message_id=turn.question_id)
            audit.record(session, "label_add", actor=user, client=client,
                         detail=f"turn #{turn_id}: {resolved.label}")
        self.request_retrain(user.username)
        return label_id

    def import_examples(self, user: Principal, rows: list[tuple[str, str]],
                        client: str | None = None) -> int:
        """Add (text, label) rows as review labels would be; all of them or, on the first
        bad row, none (LabelError names its line)."""
        require(user, PERMISSION)
        checked = []
        for line, (text, label) in enumerate(rows, start=2):
            try:
                checked.append((labels.clean_text(text), labels.resolve(self.engine.pack, label)))
            except labels.LabelError as exc:
                raise labels.LabelError(f"line {line}: {exc}") from None
        if not checked:
            raise labels.LabelError("no examples to import")
        with self.sessions.begin() as session:
            for text, resolved in checked:
                labels.add(session, text=text, resolved=resolved, source="import",
                           by=user.username)
            audit.record(session, "examples_import", actor=user, client=client,
                         detail=f"{len(checked)} examples")
        return len(checked)

    def examples(self, user: Principal, limit: int = 1000) -> list[labels.LabelView]:
        require(user, PERMISSION)
        with self.sessions() as session:
            return labels.listed(session, limit)

    def label_choices(self) -> list[str]:
        return labels.choices(self.engine.pack)

    def review_queue(self, user: Principal, filters: ReviewFilter) -> list[ReviewItem]:
        require(user, PERMISSION)
        with self.sessions() as session:
            return needs_review(session, filters)

    def versions(self, user: Principal, limit: int = 20) -> list[VersionView]:
        require(user, "monitoring:read")
        with self.sessions() as session:
            rows = session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())
                                   .limit(limit))
            return [_view(v) for v in rows]

    # -- retraining -------------------------------------------------------------------

    def request_retrain(self, by: str | None) -> None:
        """Retrain on this process's worker thread, soon; returns at once."""
        self._requested_by = by
        self.idle.clear()
        with self._start:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="retrain", daemon=True)
                self._worker.start()
        self._wake.set()

    def _work(self) -> None:
        while True:
            if not self._wake.wait(timeout=60):
                return  # nothing asked for a minute: the thread ends (a request starts another)
            self._wake.clear()
            self._blocked = False
            try:
                self.retrain_now(self._requested_by)
            except Exception:
                log.exception("retrain failed")
            if self._blocked:  # another replica's retrain is running: look again later
                self._wake.wait(timeout=RETRY_S)
                self._wake.set()
                continue
            if not self._wake.is_set():
                self.idle.set()

    def retrain_now(self, by: str | None) -> VersionView | None:
        """Retrain on the pending labels now (this thread); None when there are none or
        another replica's retrain holds the lease."""
        with self._training:
            started = time.perf_counter()
            with self.sessions.begin() as session:
                alive = func.coalesce(ModelVersion.heartbeat_at, ModelVersion.created_at)
                session.execute(update(ModelVersion).where(
                    ModelVersion.status == "training", alive <= utcnow() - LEASE).values(
                    status="failed", finished_at=utcnow(),
                    reason="stopped without finishing (the process training it ended)"))
                running = session.scalar(select(ModelVersion.id).where(
                    ModelVersion.status == "training"))
                live = labels.training_rows(session, ["live"])
                new = labels.training_rows(session, ["pending"])
                self._blocked = running is not None and bool(new)
                if running is not None or not new:
                    return None
                version = ModelVersion(requested_by=by, labels_new=len(new),
                                       labels_total=len(live) + len(new),
                                       heartbeat_at=utcnow())
                session.add(version)
                session.flush()
                version_id = version.id
            try:
                with self._heartbeat(version_id):
                    outcome = retrain.retrain(self.settings, self.engine.pack, self._encoder,
                                              live, new)
            except Exception as exc:
                self._finish(version_id, started, by, status="failed",
                             reason=f"{type(exc).__name__}: {exc}"[:500])
                raise
            if outcome.accepted:
                self.engine.use_model(outcome.model, version_id)
            return self._finish(version_id, started, by, outcome=outcome,
                                label_ids=[row[0] for row in new])

    @contextmanager
    def _heartbeat(self, version_id: int) -> Iterator[None]:
        """Mark the version alive every HEARTBEAT_S while the block runs."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(HEARTBEAT_S):
                try:
                    with self.sessions.begin() as session:
                        session.execute(update(ModelVersion).where(
                            ModelVersion.id == version_id).values(heartbeat_at=utcnow()))
                except Exception:  # a missed beat: the next one tries again
                    log.warning("retrain heartbeat failed", exc_info=True)

        thread = threading.Thread(target=beat, name="retrain-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _finish(self, version_id: int, started: float, by: str | None, *,
                outcome: retrain.Outcome | None = None, status: str = "failed",
                reason: str = "", label_ids: list[int] | None = None) -> VersionView:
        if outcome is not None:
            status, reason = ("live" if outcome.accepted else "refused"), outcome.reason
        with self.sessions.begin() as session:
            version = session.get(ModelVersion, version_id)
            version.status, version.reason, version.finished_at = status, reason, utcnow()
            version.train_seconds = time.perf_counter() - started
            if outcome is not None:
                version.score_before, version.score_after = outcome.score_before, outcome.score_after
                version.held_out = outcome.held_out
                session.execute(update(LabelledExample).where(
                    LabelledExample.id.in_(label_ids or []), LabelledExample.status == "pending")
                    .values(status=status, version_id=version_id))
            audit.record(session, "retrain", actor=by or "system",
                         outcome="success" if status == "live" else "failure",
                         detail=f"model v{version_id}: {reason}"[:500])
            return _view(version)

    # -- replicas ---------------------------------------------------------------------

    def sync(self) -> bool:
        """Switch to a newer live model if there is one (see core.learning.replicas)."""
        return self.follower.sync()

    def watch(self, interval_s: float) -> threading.Event:
        return self.follower.watch(interval_s)


def _view(v: ModelVersion) -> VersionView:
    return VersionView(v.id, v.created_at, v.status, v.reason, v.requested_by, v.labels_total,
                       v.labels_new, v.held_out, v.score_before, v.score_after, v.train_seconds)

"""TraceWriter: stores turns' traces behind the reply, in batches, on its own thread.

A turn hands over its span recorder and final state; the writer builds the masked
summaries and inserts the turn's "why" and spans for many turns in one transaction
every `interval_s`. The customer never waits on trace storage, and a full queue drops
traces (counted) rather than slowing turns down. A crash loses at most the last
interval's traces, never a turn or a message.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert
from sqlalchemy.orm import Session, sessionmaker

from core.storage.database import bound_database, turn_writes
from core.storage.models import Span, TurnTrace
from core.tracing.masking import mask_pii
from core.tracing.spans import SpanRecord, SpanRecorder

log = logging.getLogger("concierge.trace_writer")
_INSERT_TRACE = insert(TurnTrace.__table__)
_INSERT_SPAN = insert(Span.__table__)


@dataclass(frozen=True)
class PendingTrace:
    turn_id: int
    created_at: datetime
    state: dict
    recorder: SpanRecorder
    langsmith_run_id: str | None


class TraceWriter:
    def __init__(self, sessions: sessionmaker[Session], *, interval_s: float = 0.25,
                 max_queue: int = 20_000, max_batch: int = 1000):
        self._database = bound_database(sessions)
        self._turn_writes = turn_writes(self._database)
        self.interval_s = interval_s
        self.max_batch = max_batch
        self.dropped = 0
        self._queue: queue.Queue[PendingTrace] = queue.Queue(max_queue)
        self._idle = threading.Condition()
        self._busy = 0
        self._thread = threading.Thread(target=self._run, name="trace-writer", daemon=True)
        self._thread.start()

    def submit(self, trace: PendingTrace) -> None:
        with self._idle:
            try:
                self._queue.put_nowait(trace)
            except queue.Full:
                self.dropped += 1
                return
            self._busy += 1

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted trace is stored; False if that took over `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(self.interval_s)  # let a batch gather
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._store(batch)
            except Exception:  # a bad batch must not stop tracing for good
                log.exception("could not store %d traces", len(batch))
            with self._idle:
                self._busy -= len(batch)
                self._idle.notify_all()

    def _store(self, batch: list[PendingTrace]) -> None:
        traces, spans = [], []
        for item in batch:
            trace, turn_spans = trace_rows(
                turn_id=item.turn_id, created_at=item.created_at, state=item.state,
                spans=item.recorder.spans(), langsmith_run_id=item.langsmith_run_id,
            )
            traces.append(trace)
            spans.extend(turn_spans)
        with self._turn_writes, self._database.begin() as connection:
            add_traces(connection, traces, spans)


def trace_rows(*, turn_id: int, created_at: datetime, state: dict, spans: list[SpanRecord],
               langsmith_run_id: str | None) -> tuple[dict, list[dict]]:
    """A turn's "why" (runners-up, passages) and span rows, masked where customer text."""
    trace = {
        "turn_id": turn_id, "query": mask_pii(state.get("query") or state.get("text") or "")[:500],
        "follow_up": bool(state.get("follow_up")), "best_guess": state.get("best_guess"),
        "alternatives": [list(a) for a in state.get("alternatives") or []],
        "passages": [_passage_summary(p) for p in state.get("passages") or []],
        "langsmith_run_id": langsmith_run_id,
        "evidence": _evidence(state.get("evidence")),
    }
    return trace, [{"turn_id": turn_id, "created_at": created_at, **span.__dict__} for span in spans]


def _evidence(evidence: list | None) -> str | None:
    """The nearest examples as JSON, their text masked (labelled ones are customers' words)."""
    if not evidence:
        return None
    return json.dumps([[mask_pii(str(text))[:200], intent, round(float(similarity), 3)]
                       for text, intent, similarity in evidence])


def add_traces(db: Connection | Session, traces: list[dict], spans: list[dict]) -> None:
    if traces:
        db.execute(_INSERT_TRACE, traces)
    if spans:
        db.execute(_INSERT_SPAN, spans)


def _passage_summary(passage: dict) -> dict:
    text = passage.get("text", "")
    return {
        "article_id": passage.get("article_id"), "title": passage.get("title"),
        "heading": passage.get("heading"), "score": passage.get("score"),
        "intent_match": passage.get("intent_match"), "cosine": passage.get("cosine"),
        "text": text if len(text) <= 300 else text[:299] + "…",
    }


"""TraceWriter: stores turns' traces behind the reply, in batches, on its own thread.

A turn hands over its span recorder and final state; the writer builds the masked
summaries and inserts the turn's "why" and spans for many turns in one transaction
every `interval_s`. The customer never waits on trace storage, and a full queue drops
traces (counted) rather than slowing turns down. A crash loses at most the last
interval's traces, never a turn or a message.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from core import chat_store
from core.db import bound_engine, turn_writes
from core.tracing import SpanRecorder

log = logging.getLogger("concierge.trace_writer")


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
        self._database = bound_engine(sessions)
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
            trace, turn_spans = chat_store.trace_rows(
                turn_id=item.turn_id, created_at=item.created_at, state=item.state,
                spans=item.recorder.spans(), langsmith_run_id=item.langsmith_run_id,
            )
            traces.append(trace)
            spans.extend(turn_spans)
        with self._turn_writes, self._database.begin() as connection:
            chat_store.add_traces(connection, traces, spans)

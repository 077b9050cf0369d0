"""Trace capture: a LangChain callback handler that records a turn's node runs as spans.

Passed in the run config's `callbacks`, `SpanRecorder` sees every node of the graph (and
the routing edge, which LangGraph runs inside the node before it) start, end or fail.
It keeps raw timings and references only; `spans()` builds the short, masked input and
output summaries once the turn is over, off the per-node path.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from core.tracing.masking import mask_pii

SUMMARY_CHARS = 160
_FIRST_INPUT_KEYS = ("text",)
"""The first node reads the new message; the state's other fields are the last turn's."""
_INPUT_KEYS = ("query", "intent")
_DISPLAY_NAMES = {"__default_error_handler__": "apologise"}


@dataclass(frozen=True)
class SpanRecord:
    """One node run, timed in milliseconds from the start of the turn."""

    node: str
    parent: str | None
    start_ms: float
    duration_ms: float
    status: str  # ok | error | running (still going when the turn was cut off)
    error: str | None
    input_summary: str
    output_summary: str


class SpanRecorder(BaseCallbackHandler):
    """Collects the spans of one graph run. One recorder per turn; not reused."""

    run_inline = True

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.root_run_id: UUID | None = None
        self._names: dict[UUID, str] = {}
        self._open: dict[UUID, tuple[str, str | None, float, Any]] = {}
        self._done: list[tuple[str, str | None, float, float, str, str | None, Any, Any]] = []

    def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID,
                       parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        if parent_run_id is None:
            self.root_run_id = run_id
            return
        name = kwargs.get("name") or "step"
        name = _DISPLAY_NAMES.get(name, name)
        self._names[run_id] = name
        self._open[run_id] = (name, self._names.get(parent_run_id), time.perf_counter(), inputs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, "ok", None, outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._close(run_id, "error", f"{type(error).__name__}: {error}", None)

    def _close(self, run_id: UUID, status: str, error: str | None, outputs: Any) -> None:
        opened = self._open.pop(run_id, None)
        if opened is not None:
            name, parent, started, inputs = opened
            self._done.append((name, parent, started, time.perf_counter(), status, error,
                               inputs, outputs))

    def spans(self) -> list[SpanRecord]:
        """Finished spans in start order, then any still running (cut off by the budget)."""
        now = time.perf_counter()
        rows = list(self._done) + [
            (name, parent, started, now, "running", None, inputs, None)
            for name, parent, started, inputs in list(self._open.values())
        ]
        rows.sort(key=lambda r: r[2])
        first = rows[0][2] if rows else None
        return [
            SpanRecord(
                node=name, parent=parent,
                start_ms=round((started - self.started) * 1000, 3),
                duration_ms=round((ended - started) * 1000, 3),
                status=status, error=mask_pii(error)[:500] if error else None,
                input_summary=summarize_input(inputs, _FIRST_INPUT_KEYS if started == first
                                              else _INPUT_KEYS),
                output_summary=summarize(outputs),
            )
            for name, parent, started, ended, status, error, inputs, outputs in rows
        ]


def summarize_input(inputs: Any, keys: tuple[str, ...] = _INPUT_KEYS) -> str:
    """What a node read (the message, or the search query and intent), masked."""
    if isinstance(inputs, dict):
        return summarize({k: inputs[k] for k in keys if inputs.get(k)})
    return summarize(inputs)


def summarize(value: Any) -> str:
    """A short, masked, one-line description of a node's input or output."""
    if value is None:
        return ""
    if isinstance(value, dict):
        parts = [f"{k}={_short(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        text = ", ".join(parts)
    else:
        text = _short(value)
    text = mask_pii(text)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list | tuple):
        return f"[{len(value)} items]"
    if isinstance(value, dict):  # e.g. model_call: say who answered and why
        return "{" + ", ".join(f"{k}={_short(v)}" for k, v in value.items()
                               if v not in (None, "", [], {})) + "}"
    text = " ".join(str(value).split())
    return repr(text[:80] + "…" if len(text) > 80 else text)

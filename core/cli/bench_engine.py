"""`concierge bench engine`: full turns against a bare LangGraph floor, in one run.

Ours: `ChatService.send` with persistence on (SQLite + SqliteSaver in a scratch state
folder) on the demo pack, with span capture on (as shipped) for half the rounds and off
for the other half, interleaved. The floor: a bare three-node graph with the same
checkpointer as ours (a SqliteSaver on the same file, encrypting with the same
serializer and keys: `floor_checkpointer` says so in the output), driven the same way.
`p95_ratio` is ours (traced) over the floor's; `tracing_overhead_p95` is traced over
untraced, minus one.

`workflow_*` splits the difference: our workflow with its agents and checkpointer, invoked
exactly as the floor is (no chat service around it: no stored question or reply, no turn
time budget, no span capture), so the report shows how much of the ratio the agents and
the graph cost and how much the service around them. `db_wait_ms_per_turn` is how long
our turns (and the trace writer) queued for the single SQLite connection, per turn.
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import psutil
from langgraph.graph import END, START, StateGraph

from core.config import Settings
from core.engine.engine import sqlite_checkpointer
from core.runtime import Runtime
from core.storage.database import turn_writes
from core.storage.encryption import keyring_of
from core.storage.sealed_serde import encrypting_serializer

FLOOR_CHECKPOINTER = "sqlite+encrypted"
"""What the floor checkpoints with: ours, a SqliteSaver with the encrypting serializer."""


class _FloorState(TypedDict, total=False):
    text: str
    a: str
    b: str
    c: str


def floor_graph(settings: Settings, serde: Any | None = None):
    """Three pass-through nodes: what LangGraph plus the checkpointer cost on their own.

    `serde` is the checkpoint serializer (the bench passes ours, which encrypts)."""
    builder = StateGraph(_FloorState)
    builder.add_node("one", lambda s: {"a": s["text"]})
    builder.add_node("two", lambda s: {"b": s["a"]})
    builder.add_node("three", lambda s: {"c": s["b"]})
    builder.add_edge(START, "one")
    builder.add_edge("one", "two")
    builder.add_edge("two", "three")
    builder.add_edge("three", END)
    return builder.compile(checkpointer=sqlite_checkpointer(settings, serde))


def _timed(jobs: list[Callable[[], object]], concurrency: int) -> tuple[list[float], int, float]:
    def run(job: Callable[[], object]) -> float | None:
        started = time.perf_counter()
        try:
            job()
        except Exception:  # noqa: BLE001 (a failed turn is counted, whatever it was)
            return None
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(run, jobs))
    wall = time.perf_counter() - started
    latencies = [r for r in results if r is not None]
    return latencies, len(results) - len(latencies), wall


def bench_engine(settings: Settings, turns: int, concurrency: int, seed: int = 7) -> dict:
    with tempfile.TemporaryDirectory(prefix="concierge-bench-") as scratch:
        local = settings.model_copy(update={
            "state_dir": Path(scratch), "database_url": None,
            "model_dir": settings.model_cache_dir, "redis_url": None,
        })
        runtime = Runtime.start(local, rate_limit=False)
        rng = random.Random(seed)
        texts = [t for t, _ in runtime.engine.pack.examples]
        user = runtime.local_user("bench")
        conversations = [runtime.chat.start_conversation(user) for _ in range(max(1, turns // 20))]
        jobs = [
            partial(runtime.chat.send, user, rng.choice(conversations), rng.choice(texts))
            for _ in range(turns)
        ]
        floor = floor_graph(local, encrypting_serializer(keyring_of(runtime.db)))
        threads = [uuid.uuid4().hex for _ in conversations]
        floor_jobs = [
            partial(floor.invoke, {"text": rng.choice(texts)},
                    {"configurable": {"thread_id": rng.choice(threads)}},
                    durability=local.checkpoint_durability)
            for _ in range(turns)
        ]
        workflow_jobs = [
            partial(runtime.engine.run_turn, rng.choice(threads), rng.choice(texts))
            for _ in range(turns)
        ]
        _timed(jobs[: min(50, turns)], concurrency)  # warm-up: caches, connections
        queue = turn_writes(runtime.db)
        waited_before = getattr(queue, "waited_s", 0.0)
        ours, untraced, errors, wall = _traced_and_untraced(runtime, jobs, concurrency)
        if runtime.chat.trace_writer is not None:
            runtime.chat.trace_writer.flush()  # its waits for these rounds' traces count too
        db_wait_s = getattr(queue, "waited_s", 0.0) - waited_before
        workflow, workflow_errors, _ = _timed(workflow_jobs, concurrency)
        base, floor_errors, _ = _timed(floor_jobs, concurrency)
        runtime.db.dispose()
    p95, floor_p95, untraced_p95 = _pct(ours, 95), _pct(base, 95), _pct(untraced, 95)
    workflow_p95 = _pct(workflow, 95)
    return {
        "turns": turns,
        "concurrency": concurrency,
        "p50_ms": _pct(ours, 50),
        "p95_ms": p95,
        "throughput_per_s": round(len(ours) / wall, 1) if wall else None,
        "errors": errors,
        "floor_p50_ms": _pct(base, 50),
        "floor_p95_ms": floor_p95,
        "floor_errors": floor_errors,
        "floor_checkpointer": FLOOR_CHECKPOINTER,
        "p95_ratio": round(p95 / floor_p95, 2) if floor_p95 else None,
        "untraced_p50_ms": _pct(untraced, 50),
        "untraced_p95_ms": untraced_p95,
        "tracing_overhead_p95": round(p95 / untraced_p95 - 1, 3) if untraced_p95 else None,
        "workflow_p50_ms": _pct(workflow, 50),
        "workflow_p95_ms": workflow_p95,
        "workflow_errors": workflow_errors,
        "workflow_p95_ratio": round(workflow_p95 / floor_p95, 2) if floor_p95 else None,
        "db_wait_ms_per_turn": round(db_wait_s * 1000 / turns, 2),
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
    }


def _traced_and_untraced(runtime: Runtime, jobs: list[Callable[[], object]], concurrency: int,
                         rounds: int = 10) -> tuple[list[float], list[float], int, float]:
    """Every job once, half the rounds with span capture on and half off, interleaved so
    both see the same machine; returns (traced, untraced, errors, wall time of traced)."""
    traced: list[float] = []
    untraced: list[float] = []
    errors, wall = 0, 0.0
    size = max(1, len(jobs) // rounds)
    for n, first in enumerate(range(0, len(jobs), size)):
        runtime.chat.tracing = n % 2 == 0
        latencies, failed, took = _timed(jobs[first:first + size], concurrency)
        errors += failed
        (traced if runtime.chat.tracing else untraced).extend(latencies)
        wall += took if runtime.chat.tracing else 0.0
    runtime.chat.tracing = True
    return traced, untraced, errors, wall


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2) if values else float("nan")

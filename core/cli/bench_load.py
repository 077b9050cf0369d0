"""Load and soak runs through the chat service, on whatever backends the settings name.

`load`: N concurrent conversations of T turns each (each conversation one customer, its
turns in order, as in real use); reports latency, errors and lost messages (customer
messages sent but not stored, or stored without a reply). `soak`: many turns in a row;
reports process memory after warm-up and at the end.
"""

from __future__ import annotations

import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
from sqlalchemy import func, select

from core.config import Settings
from core.runtime import Runtime
from core.security.auth import Principal, add_user, principal_of
from core.storage.models import Message, Turn


def _runtime(settings: Settings, scratch: str) -> Runtime:
    return Runtime.start(settings.model_copy(update={
        "state_dir": Path(scratch), "model_dir": settings.model_cache_dir,
        "chat_rate_limit": "100000/minute", "monitor_in_app": False,
    }))


def _customers(runtime: Runtime, n: int, tag: str) -> list[Principal]:
    with runtime.sessions.begin() as session:
        return [principal_of(add_user(session, f"load-{tag}-{i}", "load-test-not-for-login-9q"))
                for i in range(n)]


def load(settings: Settings, conversations: int = 50, turns: int = 20, seed: int = 7) -> dict:
    with tempfile.TemporaryDirectory(prefix="concierge-load-") as scratch:
        runtime = _runtime(settings, scratch)
        texts = [t for t, _ in runtime.engine.pack.examples]
        customers = _customers(runtime, conversations, f"{seed}-{time.time_ns()}")
        latencies: list[float] = []
        errors: list[str] = []

        def converse(customer: Principal) -> int | None:
            rng = random.Random(f"{seed}-{customer.id}")
            conversation = None
            for _ in range(turns):
                started = time.perf_counter()
                try:
                    reply = runtime.chat.send(customer, conversation, rng.choice(texts))
                except Exception as exc:  # noqa: BLE001 (counted and reported)
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if reply.status != "ok":
                    errors.append(f"turn error: {reply.text[:80]}")
                conversation = reply.conversation_id
            return conversation

        started = time.perf_counter()
        with ThreadPoolExecutor(conversations) as pool:
            ids = [c for c in pool.map(converse, customers) if c is not None]
        wall = time.perf_counter() - started
        runtime.close()
        with runtime.sessions() as session:
            stored = session.scalar(select(func.count(Message.id)).where(
                Message.conversation_id.in_(ids), Message.role == "customer")) or 0
            answered = session.scalar(select(func.count(Turn.id)).where(
                Turn.conversation_id.in_(ids))) or 0
        runtime.db.dispose()
    sent = conversations * turns
    return {
        "backend": _backend(settings),
        "conversations": conversations, "turns_each": turns, "turns": sent,
        "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95),
        "throughput_per_s": round(len(latencies) / wall, 1) if wall else None,
        "errors": len(errors), "first_errors": errors[:3],
        "lost_messages": sent - stored, "unanswered": stored - answered,
    }


def soak(settings: Settings, turns: int = 10_000, warm_up: int = 1_000, seed: int = 7) -> dict:
    process = psutil.Process()
    with tempfile.TemporaryDirectory(prefix="concierge-soak-") as scratch:
        runtime = _runtime(settings, scratch)
        rng = random.Random(seed)
        texts = [t for t, _ in runtime.engine.pack.examples]
        customers = _customers(runtime, 20, f"soak-{time.time_ns()}")
        conversations: dict[int, int | None] = {c.id: None for c in customers}
        rss_warm = 0.0
        errors = 0
        started = time.perf_counter()
        for n in range(turns):
            customer = customers[n % len(customers)]
            if n % 20 == 0:  # a new conversation now and then, as customers come and go
                conversations[customer.id] = None
            try:
                reply = runtime.chat.send(customer, conversations[customer.id], rng.choice(texts))
                conversations[customer.id] = reply.conversation_id
            except Exception:  # noqa: BLE001 (counted)
                errors += 1
            if n + 1 == warm_up:
                runtime.close()
                rss_warm = process.memory_info().rss / 2**20
        runtime.close()
        rss_end = process.memory_info().rss / 2**20
        wall = time.perf_counter() - started
    return {
        "backend": _backend(settings), "turns": turns, "warm_up_turns": warm_up,
        "errors": errors, "turns_per_s": round(turns / wall, 1),
        "rss_after_warm_up_mb": round(rss_warm, 1), "rss_end_mb": round(rss_end, 1),
        "rss_growth": round(rss_end / rss_warm - 1, 4) if rss_warm else None,
    }


def _backend(settings: Settings) -> str:
    database = "postgresql" if settings.sqlalchemy_url.startswith("postgresql") else "sqlite"
    return f"{database}+redis" if settings.redis_url else database


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None

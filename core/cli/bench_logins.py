"""`concierge bench load --login-burst`: chat turns' latency during a burst of logins.

Customers chat without pause for `seconds`, first with nobody logging in, then while
`logins` logins (bcrypt, cost 12) arrive evenly over the same time: same runtime, same
customers, one run. A login must not hold the database (SQLite has one connection), so the
p95 of turns during the burst should stay close to the quiet p95.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from core.cli.bench_load import _backend, _customers, _pct, _runtime
from core.config import Settings
from core.runtime import Runtime
from core.security.auth import Principal, add_user

LOGIN_PASSWORD = "burst-harbour-lantern-quietly"


def login_burst(settings: Settings, conversations: int = 4, logins: int = 20,
                seconds: float = 10.0, seed: int = 7) -> dict:
    with tempfile.TemporaryDirectory(prefix="concierge-logins-") as scratch:
        runtime = _runtime(settings, scratch)
        tag = f"{seed}-{time.time_ns()}"
        customers = _customers(runtime, conversations, tag)
        with runtime.sessions.begin() as session:
            add_user(session, f"login-{tag}", LOGIN_PASSWORD)
        texts = [t for t, _ in runtime.engine.pack.examples]
        quiet, errors = _chat_for(runtime, customers, texts, seconds, seed)
        done = threading.Event()
        burst = threading.Thread(target=_log_in_evenly,
                                 args=(runtime, f"login-{tag}", logins, seconds, done))
        burst.start()
        during, burst_errors = _chat_for(runtime, customers, texts, seconds, seed + 1)
        burst.join()
        runtime.close()
        runtime.db.dispose()
    quiet_p95, burst_p95 = _pct(quiet, 95), _pct(during, 95)
    return {
        "backend": _backend(settings), "conversations": conversations,
        "logins": logins, "seconds": seconds,
        "quiet_turns": len(quiet), "quiet_p50_ms": _pct(quiet, 50), "quiet_p95_ms": quiet_p95,
        "burst_turns": len(during), "burst_p50_ms": _pct(during, 50), "burst_p95_ms": burst_p95,
        "login_burst_p95_ratio": round(burst_p95 / quiet_p95, 2) if quiet_p95 and burst_p95 else None,
        "logins_done": done.is_set(), "errors": errors + burst_errors,
    }


def _chat_for(runtime: Runtime, customers: list[Principal], texts: list[str], seconds: float,
              seed: int) -> tuple[list[float], int]:
    """Every customer sends turns back to back for `seconds`; their latencies (ms), errors."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    def converse(customer: Principal) -> None:
        nonlocal errors
        rng = random.Random(f"{seed}-{customer.id}")
        conversation = None
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                reply = runtime.chat.send(customer, conversation, rng.choice(texts))
            except Exception:  # noqa: BLE001 (counted and reported)
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            conversation = reply.conversation_id

    with ThreadPoolExecutor(len(customers)) as pool:
        list(pool.map(converse, customers))
    return latencies, errors


def _log_in_evenly(runtime: Runtime, username: str, logins: int, seconds: float,
                   done: threading.Event) -> None:
    """`logins` logins, one every `seconds / logins` (paced to the clock, not slept blindly)."""
    started = time.monotonic()
    for n in range(logins):
        wait = started + n * seconds / logins - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        runtime.accounts.authenticate(username, LOGIN_PASSWORD, f"198.51.100.{n % 250}")
    done.set()

"""`concierge bench handoff`: customers and agents working hand-offs at once.

Each of `pairs` customers asks for a person and one agent takes the conversation; then
every pair, on its own thread, exchanges `messages` messages each way: the customer sends,
the agent waits until the inbox shows it and replies, the customer waits until the chat
shows the reply. Afterwards every transcript is checked: each message once, in order, in
its own conversation (lost, duplicated and misdelivered are counted, never retried), with
the store's delivery time (sent to readable by the other side) as p50/p95.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from core.cli.bench_load import _backend, _pct, _runtime
from core.config import Settings
from core.runtime import Runtime
from core.security.auth import Principal, add_user, principal_of

POLL_S = 0.05
GIVE_UP_S = 10.0
PASSWORD = "handoff-bench-not-for-login-7q"


def bench_handoff(settings: Settings, pairs: int = 20, messages: int = 20) -> dict:
    with tempfile.TemporaryDirectory(prefix="concierge-handoff-") as scratch:
        runtime = _runtime(settings, scratch)
        tag = str(time.time_ns())
        try:
            people = _people(runtime, pairs, tag)
            conversations = [_handed_over(runtime, customer, agent) for customer, agent in people]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=pairs) as pool:
                runs = list(pool.map(lambda i: _exchange(runtime, *people[i], conversations[i],
                                                         f"{tag}:{i}", messages), range(pairs)))
            elapsed = time.perf_counter() - started
            checks = [_check(runtime, *people[i], conversations[i], f"{tag}:{i}", messages, tag)
                      for i in range(pairs)]
        finally:
            runtime.close()
            runtime.db.dispose()
    to_agent = [ms for run in runs for ms in run["to_agent"]]
    to_customer = [ms for run in runs for ms in run["to_customer"]]
    return {
        "backend": _backend(settings), "pairs": pairs, "messages_each_way": messages,
        "sent": 2 * pairs * messages, "seconds": round(elapsed, 2),
        "lost": sum(c["lost"] for c in checks),
        "duplicated": sum(c["duplicated"] for c in checks),
        "misdelivered": sum(c["misdelivered"] for c in checks),
        "out_of_order": sum(c["out_of_order"] for c in checks),
        "timeouts": sum(run["timeouts"] for run in runs),
        "to_agent_p50_ms": _pct(to_agent, 50), "to_agent_p95_ms": _pct(to_agent, 95),
        "to_customer_p50_ms": _pct(to_customer, 50), "to_customer_p95_ms": _pct(to_customer, 95),
    }


def _people(runtime: Runtime, pairs: int, tag: str) -> list[tuple[Principal, Principal]]:
    with runtime.sessions.begin() as session:
        return [(principal_of(add_user(session, f"hc-{tag}-{i}", PASSWORD, "customer")),
                 principal_of(add_user(session, f"ha-{tag}-{i}", PASSWORD, "agent")))
                for i in range(pairs)]


def _handed_over(runtime: Runtime, customer: Principal, agent: Principal) -> int:
    conversation = runtime.chat.start_conversation(customer, "Talk to a person")
    runtime.chat.request_handoff(customer, conversation)
    runtime.handoff.take(agent, conversation)
    return conversation


def _exchange(runtime: Runtime, customer: Principal, agent: Principal, conversation: int,
              tag: str, messages: int) -> dict:
    to_agent: list[float] = []
    to_customer: list[float] = []
    for i in range(messages):
        question, answer = f"[{tag}] customer {i}", f"[{tag}] agent {i}"
        to_agent.append(_delivered(
            lambda text=question: runtime.chat.send(customer, conversation, text),
            lambda text=question: text in _agent_view(runtime, agent, conversation)))
        to_customer.append(_delivered(
            lambda text=answer: runtime.handoff.reply(agent, conversation, text),
            lambda text=answer: text in _customer_view(runtime, customer, conversation)))
    timeouts = sum(ms is None for ms in to_agent + to_customer)
    to_agent = [ms for ms in to_agent if ms is not None]
    to_customer = [ms for ms in to_customer if ms is not None]
    return {"to_agent": to_agent, "to_customer": to_customer, "timeouts": timeouts}


def _delivered(send: Callable[[], object], seen: Callable[[], bool]) -> float | None:
    """ms from sending to the other side reading it, or None when it never did."""
    sent = time.perf_counter()
    send()
    return (time.perf_counter() - sent) * 1000 if _wait(seen) else None


def _agent_view(runtime: Runtime, agent: Principal, conversation: int) -> list[str]:
    return [e.text for e in runtime.inbox.conversation(agent, conversation)[1]]


def _customer_view(runtime: Runtime, customer: Principal, conversation: int) -> list[str]:
    return [e.text for e in runtime.chat.transcript(customer, conversation)]


def _wait(seen: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        if seen():
            return True
        time.sleep(POLL_S)
    return False


def _check(runtime: Runtime, customer: Principal, agent: Principal, conversation: int,
           tag: str, messages: int, run_tag: str) -> dict:
    """What both sides finally see, against what this pair sent."""
    expected = [text for i in range(messages)
                for text in (f"[{tag}] customer {i}", f"[{tag}] agent {i}")]
    found = {"lost": 0, "duplicated": 0, "misdelivered": 0, "out_of_order": 0}
    for view in (_customer_view(runtime, customer, conversation),
                 _agent_view(runtime, agent, conversation)):
        ours = [text for text in view if text.startswith(f"[{tag}] ")]
        counts = Counter(ours)
        found["lost"] += sum(1 for text in expected if text not in counts)
        found["duplicated"] += sum(n - 1 for n in counts.values() if n > 1)
        found["misdelivered"] += sum(1 for text in view
                                     if text.startswith(f"[{run_tag}:") and text not in expected)
        found["out_of_order"] += int([t for t in dict.fromkeys(ours)] != [
            t for t in expected if t in counts])
    return found


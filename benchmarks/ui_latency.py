"""Browser latency of the chat against the plainest Streamlit chat, driven in Chromium:
`python -m benchmarks.ui_latency --json`.

Starts `streamlit run serve.py` on the embedded defaults in a scratch state folder and,
as the floor, `streamlit run benchmarks/floor_chat.py` (history in session state, an echo
reply, one sidebar button). It measures how long after /_stcore/health the login form is
interactive, then the time from pressing Enter to the whole reply being on screen (our
reply's feedback buttons render after its last line) in three tabs, one message each in
turn so a busy machine slows all three alike: the floor, our chat after 30 messages of
history and our chat after 200. The ratios are the figures (absolute times depend on the
machine): ours/floor at 30 messages, and 200/30 messages (a conversation opens on its
latest `ui.chat_view.SHOWN_AT_FIRST` messages, the rest a button away).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from core.config import PROJECT_DIR, Settings, get_settings
from core.runtime import Runtime
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, log_in, start_server, stop_server
from ui.chat_view import SHOWN_AT_FIRST

QUESTIONS = [
    "how do I change my PIN", "my card hasn't arrived", "what are the fees for SWIFT transfers",
    "can I use Apple Pay", "I was charged twice for one coffee", "how do I top up by bank transfer",
    "my transfer is still pending", "how do I freeze my card", "what is the exchange fee at weekends",
    "how long does identity verification take",
]
PLACEHOLDER = "Ask about your card, payments, transfers or account…"
HISTORIES = (30, 200)


def seed_conversations(state_dir: Path, model_dir: Path, histories: tuple[int, ...]) -> list[str]:
    """One conversation of alice's per history length; their titles."""
    from sqlalchemy import select

    from core.security.auth import principal_of
    from core.storage.models import User

    settings = Settings(state_dir=state_dir, model_dir=model_dir, database_url=None, redis_url=None)
    runtime = Runtime.start(settings, rate_limit=False)
    with runtime.sessions() as session:
        alice = principal_of(session.scalar(select(User).where(User.username == "alice")))
    titles = []
    for messages in histories:
        title = f"Earlier questions ({messages})"
        conversation = runtime.chat.start_conversation(alice, title)
        for i in range(messages // 2):
            runtime.chat.send(alice, conversation, QUESTIONS[i % len(QUESTIONS)])
        titles.append(title)
    runtime.close()
    return titles


def start_floor(history: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "benchmarks/floor_chat.py",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_DIR, env={**os.environ, "FLOOR_HISTORY": str(history)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the floor chat did not start")


def sender(page: Page, placeholder: str, reply_done: Callable[[Page, int, str], None]):
    """A function that sends one message in `page` and returns ms from Enter to the reply."""
    chat = page.locator('[data-testid="stChatMessage"]')
    box = page.get_by_placeholder(placeholder)

    def send(text: str) -> float:
        expected = chat.count() + 2
        box.fill(text)
        started = time.perf_counter()
        box.press("Enter")
        reply_done(page, expected, text)
        return (time.perf_counter() - started) * 1000

    return send


def _ours_done(page: Page, _expected: int, text: str) -> None:
    """The reply to `text` (each question is unique) has its feedback buttons: found by
    text, not by position, since a full run may redraw the transcript's window meanwhile."""
    asked = page.locator('[data-testid="stChatMessage"]').filter(has_text=text)
    asked.locator('xpath=following::*[@data-testid="stChatMessage"][1]').locator(
        '[data-testid="stFeedback"]').wait_for()


def _floor_done(page: Page, expected: int, text: str) -> None:
    page.locator('[data-testid="stChatMessage"]').nth(expected - 1).filter(
        has_text=f"Echo: {text}").wait_for()


def measure(messages: int = 20, model_dir: Path | None = None) -> dict:
    model_dir = model_dir or get_settings().model_cache_dir
    with tempfile.TemporaryDirectory(prefix="concierge-ui-") as scratch, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        server = start_server(Path(scratch), model_dir,
                              {"CONCIERGE_CHAT_RATE_LIMIT": "100000/minute"})
        floor, floor_url = start_floor(HISTORIES[0])
        try:
            first = browser.new_page()
            first.goto(server.url)
            first.get_by_role("button", name="Log in").wait_for(state="visible")
            first.get_by_label("Username").first.wait_for(state="visible")
            login_interactive_s = time.monotonic() - server.healthy_at
            titles = seed_conversations(Path(scratch), model_dir, HISTORIES)
            senders = {}
            for history, title in zip(HISTORIES, titles, strict=True):
                page = browser.new_context().new_page()
                page.set_default_timeout(30_000)
                log_in(page, server.url, "alice")
                page.get_by_role("button", name=title).click()
                shown = min(history, SHOWN_AT_FIRST)  # a long transcript opens on its latest part
                page.locator('[data-testid="stChatMessage"]').nth(shown - 1).wait_for()
                senders[f"ours_{history}"] = sender(page, PLACEHOLDER, _ours_done)
            floor_page = browser.new_context().new_page()
            floor_page.set_default_timeout(30_000)
            floor_page.goto(floor_url)
            floor_page.locator('[data-testid="stChatMessage"]').nth(HISTORIES[0] - 1).wait_for()
            senders["floor"] = sender(floor_page, "Say something", _floor_done)
            latencies: dict[str, list[float]] = {name: [] for name in senders}
            for i in range(messages + 1):  # the first round warms each tab up: not counted
                for name, send in senders.items():
                    took = send(f"{QUESTIONS[i % len(QUESTIONS)]} ({i})")
                    if i:
                        latencies[name].append(took)
        finally:
            browser.close()
            stop_server(server)
            floor.terminate()
            floor.wait(timeout=10)
    return summary(latencies, login_interactive_s, messages)


def summary(latencies: dict[str, list[float]], login_s: float, messages: int) -> dict:
    figures: dict = {"login_interactive_s": round(login_s, 2), "messages": messages}
    for name, values in latencies.items():
        figures[f"{name}_p50_ms"] = round(statistics.median(values), 1)
        figures[f"{name}_p95_ms"] = round(_p95(values), 1)
    low, high = HISTORIES
    figures["p50_ratio"] = round(figures[f"ours_{low}_p50_ms"] / figures["floor_p50_ms"], 2)
    figures["p95_ratio"] = round(figures[f"ours_{low}_p95_ms"] / figures["floor_p95_ms"], 2)
    figures["history_p50_ratio"] = round(
        figures[f"ours_{high}_p50_ms"] / figures[f"ours_{low}_p50_ms"], 2)
    return figures


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="a trained model folder (default: the settings' model cache)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CONCIERGE_LOG_LEVEL", "WARNING")
    result = measure(args.messages, args.model_dir)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()

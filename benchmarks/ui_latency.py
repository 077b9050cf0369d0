"""Browser latency of the chat, driven in Chromium: `python -m benchmarks.ui_latency --json`.

Starts `streamlit run serve.py` on the embedded defaults in a scratch state folder, then
measures (1) how long after /_stcore/health the login form is interactive, and (2) for N
messages in a conversation that already holds 50, the time from pressing Enter to the
whole reply being on screen (its feedback buttons render after the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from core.config import Settings, get_settings
from core.runtime import Runtime
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, log_in, start_server, stop_server

QUESTIONS = [
    "how do I change my PIN", "my card hasn't arrived", "what are the fees for SWIFT transfers",
    "can I use Apple Pay", "I was charged twice for one coffee", "how do I top up by bank transfer",
    "my transfer is still pending", "how do I freeze my card", "what is the exchange fee at weekends",
    "how long does identity verification take",
]


def seed_conversation(state_dir: Path, model_dir: Path, messages: int) -> str:
    settings = Settings(state_dir=state_dir, model_dir=model_dir, database_url=None, redis_url=None)
    runtime = Runtime.start(settings, rate_limit=False)
    with runtime.sessions() as session:
        from sqlalchemy import select

        from core.security.auth import principal_of
        from core.storage.models import User

        alice = principal_of(session.scalar(select(User).where(User.username == "alice")))
    title = "Earlier questions"
    conversation = runtime.chat.start_conversation(alice, title)
    for i in range(messages // 2):
        runtime.chat.send(alice, conversation, QUESTIONS[i % len(QUESTIONS)])
    runtime.db.dispose()
    return title


def measure(messages: int = 20, history: int = 50) -> dict:
    model_dir = get_settings().model_cache_dir
    with tempfile.TemporaryDirectory(prefix="concierge-ui-") as scratch, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(30_000)
        server = start_server(Path(scratch), model_dir)
        try:
            page.goto(server.url)
            page.get_by_role("button", name="Log in").wait_for(state="visible")
            page.get_by_label("Username").first.wait_for(state="visible")
            login_interactive_s = time.monotonic() - server.healthy_at
            title = seed_conversation(Path(scratch), model_dir, history)
            log_in(page, server.url, "alice")
            page.get_by_role("button", name=title).click()
            chat = page.locator('[data-testid="stChatMessage"]')
            chat.nth(history - 1).wait_for()
            box = page.get_by_placeholder("Ask about your card, payments, transfers or account…")
            latencies = []
            for i in range(messages):
                expected = chat.count() + 2
                box.fill(QUESTIONS[i % len(QUESTIONS)] + f" ({i})")
                started = time.perf_counter()
                box.press("Enter")
                chat.nth(expected - 1).locator('[data-testid="stFeedback"]').wait_for()
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            browser.close()
            stop_server(server)
    latencies.sort()
    return {
        "login_interactive_s": round(login_interactive_s, 2),
        "reply_p50_ms": round(statistics.median(latencies), 1),
        "reply_p95_ms": round(latencies[max(0, round(0.95 * len(latencies)) - 1)], 1),
        "messages": messages,
        "history_messages": history,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("CONCIERGE_LOG_LEVEL", "WARNING")
    result = measure(args.messages)
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()

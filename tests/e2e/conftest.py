"""Browser tests: `streamlit run serve.py` on a free port, driven by Playwright in Debian's
Chromium. Skipped locally when Chromium is missing; a failure under CI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.config import PROJECT_DIR
from tests.conftest import TEST_DATABASE, create_test_database, drop_test_database
from tests.support import free_port, unavailable

CHROMIUM = os.environ.get("CONCIERGE_CHROMIUM", "/usr/bin/chromium")
DEMO_PASSWORD = "e2e-harbour-lantern-quietly"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic",
]


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")


@dataclass
class Server:
    url: str
    state_dir: Path
    process: subprocess.Popen
    healthy_at: float
    database_url: str | None = None
    owns_database: bool = False

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'concierge.sqlite'}"

    def cli_env(self) -> dict[str, str]:
        """The environment for `python -m core.cli` against this server's state."""
        env = {"CONCIERGE_STATE_DIR": str(self.state_dir), "PATH": "/usr/bin:/bin"}
        return env | ({"DATABASE_URL": self.database_url} if self.database_url else {})


def start_server(state_dir: Path, model_dir: Path, extra_env: dict[str, str] | None = None) -> Server:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"CONCIERGE_STATE_DIR": str(state_dir), "CONCIERGE_MODEL_DIR": str(model_dir),
            "CONCIERGE_DEMO_PASSWORD": DEMO_PASSWORD, "CONCIERGE_MONITOR_INTERVAL_S": "0.5",
            "CONCIERGE_ALERT_CONSECUTIVE": "2", **(extra_env or {})}
    own_database = TEST_DATABASE == "postgresql" and "DATABASE_URL" not in env
    if own_database:
        env["DATABASE_URL"] = create_test_database()
    subprocess.run([sys.executable, "-m", "core.cli", "init", "--demo"], env=env, check=True,
                   cwd=PROJECT_DIR, capture_output=True, timeout=300)
    port = free_port()
    log = (state_dir / "streamlit.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return Server(url, state_dir, process, time.monotonic(),
                                  env.get("DATABASE_URL"), own_database)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not become healthy: {(state_dir / 'streamlit.log').read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
    if server.owns_database and server.database_url:
        drop_test_database(server.database_url)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_dir, engine) -> Iterator[Server]:  # engine warms the model cache
    _need_chromium()
    srv = start_server(tmp_path_factory.mktemp("e2e-state"), model_dir)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def browser():
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def log_in(page, url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("Username").first.fill(username)
    page.get_by_label("Password", exact=True).first.fill(password)
    page.get_by_role("button", name="Log in").click()


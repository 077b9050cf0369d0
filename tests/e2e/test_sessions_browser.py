"""Sessions in a real browser: a reload stays logged in through an HttpOnly cookie, logging
out revokes it, an idle session ends with a message, a disabled user is logged out, and
repeated failed logins are throttled with a clear message."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from core.config import PROJECT_DIR
from tests.e2e.conftest import Server, log_in, start_server, stop_server

CHAT_HEADING = "How can we help?"


def _logged_in_as_alice(page, server: Server) -> None:
    log_in(page, server.url, "alice")
    expect(page.get_by_role("heading", name=CHAT_HEADING)).to_be_visible(timeout=60_000)  # cold start


def _session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "concierge_session"), None)


def _wait_for_cookie(context, present: bool = True) -> dict | None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        cookie = _session_cookie(context)
        if (cookie is not None) == present:
            return cookie
        time.sleep(0.1)
    raise AssertionError(f"session cookie {'never set' if present else 'not cleared'}")


def test_reload_keeps_the_login_and_logout_revokes_the_cookie(server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _logged_in_as_alice(page, server)
    cookie = _wait_for_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and len(cookie["value"]) >= 43
    assert "concierge_session" not in page.evaluate("document.cookie")  # page scripts can't read it

    page.reload()
    expect(page.get_by_role("heading", name=CHAT_HEADING)).to_be_visible()
    page.goto(f"{server.url}/my_account")  # a new page load, same browser
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()
    _wait_for_cookie(context, present=False)

    replay = browser.new_context()  # someone who copied the old cookie gets nothing
    replay.add_cookies([cookie])
    other = replay.new_page()
    other.goto(server.url)
    expect(other.get_by_role("button", name="Log in")).to_be_visible()
    expect(other.get_by_role("heading", name=CHAT_HEADING)).to_have_count(0)
    replay.close()
    context.close()


def test_a_disabled_customer_is_logged_out_on_their_next_click(server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    log_in(page, server.url, "sam")
    expect(page.get_by_role("heading", name=CHAT_HEADING)).to_be_visible()
    subprocess.run([sys.executable, "-m", "core.cli", "user", "disable", "sam"], env=server.cli_env(),
                   cwd=PROJECT_DIR, check=True, capture_output=True)
    page.get_by_role("button", name="New conversation").click()
    expect(page.get_by_text("Your account has been disabled")).to_be_visible()
    expect(page.get_by_role("heading", name=CHAT_HEADING)).to_have_count(0)
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    context.close()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory, model_dir, engine) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("strict-state"), model_dir,
                       {"CONCIERGE_SESSION_IDLE_MINUTES": "0.1"})  # 6 seconds
    yield srv
    stop_server(srv)


def test_an_idle_session_ends_with_a_message(strict_server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    _logged_in_as_alice(page, strict_server)
    time.sleep(7)
    page.get_by_role("button", name="New conversation").click()
    expect(page.get_by_text("You were logged out after 6 seconds without activity")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    context.close()


def test_six_failed_logins_are_throttled_with_a_clear_message(strict_server, browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    for attempt in range(6):
        log_in(page, strict_server.url, "alice", f"wrong-password-{attempt}")
        if attempt < 5:
            expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Too many failed attempts")).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    context.close()

"""A supervisor's live System alerts panel outlives nothing: once their session is revoked
(disabled from the terminal, or demoted), the next refresh shows the login prompt and a
click on Acknowledge is refused."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time

from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from core.config import PROJECT_DIR
from tests.e2e.conftest import log_in

READ_AT = re.compile(r"Read at (\d\d:\d\d:\d\d) UTC")


def _sql(server, statement: str, **params) -> list:
    db = create_engine(server.sqlalchemy_url)
    try:
        with db.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        db.dispose()


def _alerts_page_with_a_firing_alert(server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, server.url, "sam")
    expect(page.get_by_text("Logged in as")).to_be_visible(timeout=120_000)  # cold start
    page.get_by_role("link", name="System alerts").click()
    expect(page.get_by_role("heading", name="Open alerts")).to_be_visible(timeout=60_000)
    if not _sql(server, "select 1 from alert_thresholds where rule = 'disk_high'"):
        _sql(server, "insert into alert_thresholds (rule, threshold, updated_by, updated_at) "
                     "values ('disk_high', 0, 'test', CURRENT_TIMESTAMP)")
    expect(page.get_by_role("button", name="Acknowledge").first).to_be_visible(timeout=30_000)
    return context, page


def _next_refresh(page) -> None:
    """Wait until the live panel has just redrawn itself (its reading time changes)."""
    caption = page.get_by_text(READ_AT)
    before = READ_AT.search(caption.inner_text()).group(1)
    expect(caption).not_to_have_text(re.compile(rf"Read at {before} UTC"), timeout=15_000)


def test_the_next_refresh_after_a_disable_shows_the_login_prompt(server, browser) -> None:
    context, page = _alerts_page_with_a_firing_alert(server, browser)
    subprocess.run([sys.executable, "-m", "core.cli", "user", "disable", "sam"],
                   env=server.cli_env(), cwd=PROJECT_DIR, check=True, capture_output=True)
    try:  # nobody clicks: the panel's own 5-second refresh must notice
        expect(page.get_by_text("Your account has been disabled")).to_be_visible(timeout=20_000)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        expect(page.get_by_text(READ_AT)).to_have_count(0)
    finally:
        subprocess.run([sys.executable, "-m", "core.cli", "user", "enable", "sam"],
                       env=server.cli_env(), cwd=PROJECT_DIR, check=True, capture_output=True)
        context.close()


def test_acknowledge_is_refused_right_after_a_demotion(server, browser) -> None:
    context, page = _alerts_page_with_a_firing_alert(server, browser)
    try:
        _next_refresh(page)  # then act well inside the 5 seconds before the next one
        started = time.monotonic()
        _sql(server, "update users set role = 'customer' where username = 'sam'")
        page.get_by_role("button", name="Acknowledge").first.click()
        assert time.monotonic() - started < 4, "too slow to beat the panel's own refresh"
        expect(page.get_by_text("You're not allowed to see this page.")).to_be_visible()
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        statuses = _sql(server, "select status, acknowledged_by from alerts where rule = 'disk_high'")
        assert statuses and all(row[0] == "firing" and row[1] is None for row in statuses)
    finally:
        _sql(server, "update users set role = 'supervisor' where username = 'sam'")
        context.close()


def _captured_code(server, browser) -> dict:
    """A fresh one-time code as an attacker gets one: by logging into their own account
    and keeping their tab from spending it."""
    context = browser.new_context()
    page = context.new_page()
    captured: list[dict] = []

    def keep(route) -> None:
        if route.request.method == "POST":
            captured.append(json.loads(route.request.post_data or "{}"))
            route.abort()
        else:
            route.continue_()

    page.route("**/api/session", keep)
    log_in(page, server.url, "ada")
    expect(page.get_by_text("Logged in as")).to_be_visible(timeout=120_000)
    for _ in range(100):
        if captured:
            break
        page.wait_for_timeout(100)
    context.close()
    assert captured and captured[0]["code"] and captured[0]["tab"], captured
    return captured[0]


def _session_cookies(context) -> list:
    return [c for c in context.cookies() if "concierge_session" in c["name"]]


def test_login_csrf_a_cross_site_form_post_sets_no_cookie(server, browser) -> None:
    stolen = _captured_code(server, browser)
    victim = browser.new_context()
    page = victim.new_page()
    field = json.dumps({"code": stolen["code"], "tab": stolen["tab"], "x": ""})[:-2]
    form = (f'<form id="f" method="POST" action="{server.url}/api/session" enctype="text/plain">'
            f"<input name='{html.escape(field, quote=True)}' value='\"}}'></form>"
            '<script>document.getElementById("f").submit()</script>')
    page.route("http://attacker.test/", lambda route: route.fulfill(content_type="text/html", body=form))
    page.goto("http://attacker.test/")
    expect(page.get_by_text("cross-site request refused")).to_be_visible()
    assert _session_cookies(victim) == []
    # the same code from one of our own tabs, which holds another tab nonce: refused too
    page.goto(server.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=60_000)
    status = page.evaluate(
        "(code) => fetch('/api/session', {method: 'POST', headers: {'Content-Type': "
        "'application/json'}, body: JSON.stringify({code, tab: sessionStorage.getItem("
        "'concierge-tab')})}).then(r => r.status)", stolen["code"])
    assert status == 400 and _session_cookies(victim) == []
    victim.close()

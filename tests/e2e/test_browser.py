"""A customer and the guards, in a real browser against a real server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import log_in, start_server, stop_server

PAGES = ["chat", "agent_statistics", "workflow_traces", "system_alerts"]


def test_fresh_server_serves_no_page_content_without_login(tmp_path, model_dir, engine, browser) -> None:
    server = start_server(tmp_path / "fresh", model_dir)  # no session has called st.navigation yet
    try:
        context = browser.new_context()
        page = context.new_page()
        for name in PAGES:
            page.goto(f"{server.url}/{name}")
            expect(page.get_by_text("Please log in to continue.")).to_be_visible(timeout=20_000)
            expect(page.get_by_role("heading", name=re.compile("How can we help|statistics|traces|alerts", re.IGNORECASE))).to_have_count(0)
            expect(page.get_by_text("This page is being built")).to_have_count(0)
        context.close()
    finally:
        stop_server(server)


def test_wrong_password_is_refused(server, page) -> None:
    log_in(page, server.url, "alice", "not-the-right-password")
    expect(page.get_by_text("Wrong username or password.")).to_be_visible()
    expect(page.get_by_role("heading", name="How can we help?")).to_have_count(0)


def test_customer_asks_gets_sources_gives_feedback_and_logs_out(server, page) -> None:
    log_in(page, server.url, "alice")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("Somebody stole my card yesterday, what should I do?")
    box.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(answer).to_contain_text("Sources:")
    page.get_by_text("Sources", exact=True).click()
    expect(answer).to_contain_text(re.compile("lost|stolen", re.IGNORECASE))
    answer.locator('[data-testid="stFeedback"] button').first.click()  # thumbs up
    expect(page.get_by_text("Thanks for the feedback!")).to_be_visible()
    db = create_engine(server.sqlalchemy_url)
    with db.connect() as connection:
        assert connection.execute(text("select score from feedback")).scalars().all() == [1]
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("heading", name="How can we help?")).to_have_count(0)


def test_customer_picks_a_topic_the_clarifying_question_offers(server, page) -> None:
    log_in(page, server.url, "alice")
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("my card question")
    box.press("Enter")
    options = page.locator('[class*="st-key-option-"] button')
    expect(options).to_have_count(3)
    title = options.first.inner_text().strip().split("\n")[-1]  # after the icon's name
    assert title and title in page.locator('[data-testid="stChatMessage"]').nth(1).inner_text()
    options.first.click()
    messages = page.locator('[data-testid="stChatMessage"]')
    expect(messages.nth(2)).to_have_text(re.compile(re.escape(title)))
    expect(messages.nth(3)).to_contain_text(re.compile(f"Sources: {re.escape(title)}"))
    expect(options).to_have_count(0)


@pytest.mark.parametrize("name", ["agent_statistics", "workflow_traces", "system_alerts"])
def test_customer_opening_a_monitoring_url_is_not_allowed(server, page, name) -> None:
    log_in(page, server.url, "alice")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    # in-app navigation inside the same session (full page loads go through the session cookie:
    # see test_sessions_browser.py)
    page.evaluate(f"window.history.pushState({{}}, '', '/{name}'); "
                  "window.dispatchEvent(new PopStateEvent('popstate'))")
    expect(page.get_by_text("You're not allowed to see this page.")).to_be_visible()
    expect(page.get_by_text("This page is being built")).to_have_count(0)


def test_supervisor_opens_monitoring_pages(server, page) -> None:
    log_in(page, server.url, "sam")
    page.get_by_role("link", name="Agent statistics").click()
    expect(page.get_by_role("heading", name="Agent statistics")).to_be_visible()

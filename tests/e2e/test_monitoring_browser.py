"""A supervisor finds a customer's turn and its spans, and sees an alert fire, in a browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_supervisor_finds_the_customers_trace_and_sees_an_alert_fire(server, browser) -> None:
    customer = browser.new_context().new_page()
    customer.set_default_timeout(20_000)
    log_in(customer, server.url, "alice")
    box = customer.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("My new card still hasn't arrived, can you check? I'm jo@example.com")
    box.press("Enter")
    expect(customer.locator('[data-testid="stChatMessage"]').nth(1)).to_contain_text("Sources:")

    page = browser.new_context().new_page()
    page.set_default_timeout(20_000)
    log_in(page, server.url, "sam")
    page.get_by_role("link", name="Workflow traces").click()
    expect(page.get_by_role("heading", name="Workflow traces")).to_be_visible()
    chooser = page.locator('[data-testid="stSelectbox"]').filter(has_text="Show the trace of turn")
    expect(chooser.locator("input")).to_have_value(re.compile(r"#\d+ · .* · alice · card_arrival · ok"))
    expect(page.get_by_role("heading", name=re.compile(r"Turn #\d+"))).to_be_visible()
    spans = page.locator('[data-testid="stTable"]')
    for node in ("classify_intent", "route_turn", "retrieve_passages", "write_answer"):
        expect(spans).to_contain_text(node)
    expect(page.get_by_text("[email]").first).to_be_visible()
    expect(page.get_by_text("jo@example.com")).to_have_count(0)

    page.get_by_role("link", name="System alerts").click()
    expect(page.get_by_role("heading", name="System alerts")).to_be_visible()
    expect(page.get_by_role("heading", name="Open alerts")).to_be_visible()
    expect(page.get_by_text(re.compile("Disk usage is"))).to_have_count(0)
    page.get_by_role("spinbutton", name="Disk usage (%, host)").fill("0")
    page.get_by_role("button", name="Save thresholds").click()
    expect(page.get_by_text("Saved 1 threshold(s).")).to_be_visible()
    expect(page.get_by_text(re.compile(r"CRITICAL · Disk usage is \d"))).to_be_visible(timeout=30_000)
    page.get_by_role("button", name="Acknowledge").first.click()  # critical alerts come first
    expect(page.get_by_text(re.compile("acknowledged by sam"))).to_be_visible()


def test_supervisor_pages_use_the_wide_layout(server, browser) -> None:
    customer = browser.new_context().new_page()
    customer.set_default_timeout(20_000)
    log_in(customer, server.url, "alice")
    box = customer.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("how do I change my PIN")
    box.press("Enter")
    expect(customer.locator('[data-testid="stChatMessage"]').nth(1)).to_contain_text("PIN")

    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(20_000)
    log_in(page, server.url, "sam")
    chat_width = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()["width"]
    page.get_by_role("link", name="Workflow traces").click()
    table = page.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_visible()
    # centred, the column is at most 736 px wide and the latency column falls off the table;
    # wide, the table takes the whole width beside the sidebar (about 940 px at 1400)
    box = table.bounding_box()
    assert box["width"] > 900, (box, chat_width)
    assert chat_width < 800  # the chat keeps the centred layout

"""Learning in a real browser: a customer's message is missed, a supervisor labels it on the
Review page, the model retrains in the background, and the same question is understood."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, log_in, start_server, stop_server
from tests.learning.conftest import small_pack  # noqa: F401 - fixture

MISSED = "mugged last night and they took the lot"
MESSAGES = '[data-testid="stChatMessage"]'


@pytest.fixture(scope="module")
def review_server(tmp_path_factory, small_pack) -> Iterator[Server]:  # noqa: F811
    # the small pack (a few intents) retrains in seconds; its own model cache
    srv = start_server(tmp_path_factory.mktemp("e2e-review"), tmp_path_factory.mktemp("models"),
                       {"CONCIERGE_DATA_DIR": str(small_pack)})
    yield srv
    stop_server(srv)


def ask(page, text: str, replies: int) -> None:
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    expect(box).to_be_visible(timeout=120_000)  # the first turn may wait for the engine
    box.fill(text)
    box.press("Enter")
    expect(page.locator(MESSAGES).nth(2 * replies - 1)).to_be_visible(timeout=60_000)


def test_a_supervisor_labels_a_missed_message_and_the_question_is_then_understood(
        review_server, browser) -> None:
    sam = browser.new_context().new_page()
    sam.set_default_timeout(30_000)
    log_in(sam, review_server.url, "sam")  # a supervisor may chat too, and sees the intent
    ask(sam, MISSED, 1)
    first = sam.locator(MESSAGES).nth(1)
    expect(first).to_contain_text("intent ")
    assert "intent lost_or_stolen_card" not in first.inner_text()  # missed
    first.locator('[data-testid="stFeedback"] button').nth(1).click()  # thumbs down
    expect(sam.get_by_text("Thanks for the feedback!")).to_be_visible()

    sam.get_by_role("link", name="Review").click()
    expect(sam.get_by_role("heading", name="Review")).to_be_visible()
    expect(sam.get_by_text(MISSED)).to_be_visible()
    # the only item's label chooser and button, by their widget keys (review_label_<turn>)
    chooser = sam.locator('[class*="st-key-review_label_"]').get_by_role("combobox")
    chooser.click()
    chooser.fill("lost_or_stolen_card")  # typing filters the long list of intents
    sam.get_by_role("option", name="lost_or_stolen_card", exact=True).click()
    expect(chooser).to_have_value("lost_or_stolen_card")
    sam.locator('[class*="st-key-review_save_"]').get_by_role("button", name="Label").click()
    expect(sam.get_by_text(re.compile(r"labelled; the model retrains in the background"))
           ).to_be_visible()

    deadline = time.monotonic() + 180
    live = sam.get_by_text(re.compile(r"Live model: version \d+"))
    while not live.count() and time.monotonic() < deadline:  # the retrain runs meanwhile
        sam.reload()
        expect(sam.get_by_role("heading", name="Review")).to_be_visible()
        expect(sam.get_by_text(re.compile("Live model:"))).to_be_visible()
    expect(live).to_be_visible()

    sam.get_by_role("link", name="Chat").click()
    sam.get_by_role("button", name="New conversation").click()
    ask(sam, MISSED, 1)
    expect(sam.locator(MESSAGES).nth(1)).to_contain_text("intent lost_or_stolen_card")

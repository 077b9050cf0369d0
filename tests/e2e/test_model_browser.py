"""Model-written answers in a real browser: tokens appear as the model streams them, a
reply can show no link or image whatever the model writes, and a supervisor sees the
model's latency and tokens in the statistics."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from benchmarks.fake_openai import FakeOpenAI
from tests.e2e.conftest import Server, log_in, start_server, stop_server

WRITTEN = ("Report the card as stolen in the app straight away, then freeze it and order a "
           "replacement [1].")


@pytest.fixture(scope="module")
def model_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory, model_dir, engine, model_server) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("e2e-llm"), model_dir, {
        "CONCIERGE_LLM_MODEL": "fake-model", "OPENAI_BASE_URL": model_server.base_url,
        "CONCIERGE_LLM_TIMEOUT_S": "15"})
    yield srv
    stop_server(srv)


def test_streamed_tokens_reach_the_page_before_the_reply_is_complete(
        llm_server, model_server, page) -> None:
    model_server.reply = lambda request: WRITTEN
    model_server.token_delay_s = 0.25  # about 4 s for the whole reply
    log_in(page, llm_server.url, "alice")
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("Somebody stole my card yesterday, what should I do?")
    box.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    # the first turn on a fresh server may wait for the engine to finish loading
    expect(answer).to_contain_text("Report the card", timeout=60_000)
    partial = answer.inner_text()
    assert "replacement" not in partial and "Sources" not in partial, partial
    expect(answer).to_contain_text("Sources: [1]", timeout=20_000)
    expect(answer).to_contain_text("order a replacement [1].")
    assert len(model_server.requests) == 1


HOSTILE = ("Freeze the card in the app [1]. Details: [our form][f] ![pixel][p] "
           "<https://evil.example/reset> https://evil.example/bare www.evil.example/w "
           "help@evil.example\n\n[f]: https://evil.example/form\n[p]: https://evil.example/p.png")


def shown_as_text(text: str) -> re.Pattern:
    """`text` as the reply guard shows it: with invisible word joiners (U+2060) anywhere."""
    return re.compile("\u2060?".join(re.escape(c) for c in text))


def test_a_model_reply_shows_no_link_or_image(llm_server, model_server, page) -> None:
    model_server.reply = lambda request: HOSTILE
    model_server.token_delay_s = 0.0
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    log_in(page, llm_server.url, "alice")
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    expect(box).to_be_visible(timeout=120_000)  # the assistant may still be starting
    box.fill("How do I freeze my card?")
    box.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    expect(answer).to_contain_text("Sources: [1]", timeout=30_000)
    for shown in ("written", "replayed"):
        expect(answer).to_contain_text("Freeze the card")
        # shown as plain text (waited on: a rerun may be redrawing the page)
        expect(answer).to_contain_text(shown_as_text("help@evil.example"))
        expect(answer).to_contain_text(shown_as_text("https://evil.example/bare"))
        body = answer.locator('[data-testid="stMarkdownContainer"]')
        assert body.locator("a").count() == 0, (shown, body.first.inner_html())
        assert answer.locator("img").count() == 0, shown
        page.reload()  # the stored reply, replayed from the transcript
        page.get_by_role("button", name=re.compile("How do I freeze")).first.click()
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
    assert not any("evil.example" in url for url in fetched)


def test_supervisor_sees_model_latency_and_tokens(llm_server, model_server, page, browser) -> None:
    model_server.token_delay_s = 0.0
    log_in(page, llm_server.url, "alice")
    box = page.get_by_placeholder(re.compile("Ask about your card"))
    box.fill("How do I freeze my card?")
    box.press("Enter")
    expect(page.locator('[data-testid="stChatMessage"]').nth(1)).to_contain_text("Sources:")
    supervisor = browser.new_context().new_page()
    log_in(supervisor, llm_server.url, "sam")
    supervisor.get_by_role("link", name="Agent statistics").click()
    expect(supervisor.get_by_role("heading", name="Answer model")).to_be_visible()
    expect(supervisor.get_by_text("Prompt tokens")).to_be_visible()
    expect(supervisor.get_by_text("Fell back to offline")).to_be_visible()
    supervisor.context.close()

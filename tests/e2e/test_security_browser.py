"""Hostile chat text and URL/session tampering, in a real browser against a real server.

- Script and link payloads sent as chat messages show as text, build no element and run
  nothing, neither when sent nor when the conversation is replayed from storage.
- Hostile text typed into the chat box gets a reply or a clear error (the unsent text
  kept), never a Streamlit exception box or a traceback.
- A second customer (or a supervisor) cannot reach a customer's conversation through query
  parameters or page URLs, nor log in with a forged or altered session cookie; the cookie
  route answers odd bodies with 400, not a server error.
- Customer markup that reaches staff on the traces page builds no link or image there.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid

from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import create_engine, text

from tests.e2e.conftest import log_in
from tests.security.hostile_inputs import BROWSER_SUBSET, MUST_REJECT, by_id

MESSAGES = '[data-testid="stChatMessage"]'
PLACEHOLDER = re.compile("Ask about your card")
STRONG_PASSWORD = "violet-harbour-mosaic-42"
SLOW = 30_000  # ms: a login (bcrypt) or the first turn on a busy machine

XSS_PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "[click me](javascript:alert(1))",
    "<script>alert(1)</script>",
]


def watch_dialogs(page: Page) -> list[str]:
    """Every alert/confirm/prompt the page opens (each is dismissed and recorded)."""
    seen: list[str] = []

    def record(dialog) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def no_crash_shown(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("Traceback")).to_have_count(0)


def send(page: Page, message: str) -> None:
    box = page.get_by_placeholder(PLACEHOLDER)
    box.fill(message)
    expect(box).to_have_value(message)
    box.press("Enter")


def wait_for_reply(page: Page, count: int) -> None:
    """Wait until `count` chat bubbles show and the last, the assistant's, is complete."""
    messages = page.locator(MESSAGES)
    expect(messages).to_have_count(count, timeout=SLOW)
    expect(messages.nth(count - 1).locator('[data-testid="stFeedback"]')).to_be_visible(
        timeout=SLOW)


def assert_payloads_inert(page: Page, dialogs: list[str]) -> None:
    messages = page.locator(MESSAGES)
    for i, payload in enumerate(XSS_PAYLOADS):
        expect(messages.nth(2 * i)).to_contain_text(payload)  # the customer's own bubble
    expect(page.locator('img[src="x"]')).to_have_count(0)
    expect(page.locator("img[onerror]")).to_have_count(0)
    expect(page.locator('a[href^="javascript:" i]')).to_have_count(0)
    expect(page.locator('iframe[src^="javascript:" i]')).to_have_count(0)
    injected = page.evaluate(
        "() => [...document.querySelectorAll('script')]"
        ".filter(s => s.textContent.includes('alert(1)')).length")
    assert injected == 0
    assert dialogs == []
    no_crash_shown(page)


def test_script_and_link_payloads_show_as_text_and_run_nothing(server, page) -> None:
    dialogs = watch_dialogs(page)
    log_in(page, server.url, "alice")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    for i, payload in enumerate(XSS_PAYLOADS):
        send(page, payload)
        wait_for_reply(page, 2 * i + 2)
    assert_payloads_inert(page, dialogs)
    # clicking where the link text is must not navigate or run anything
    expect(page.locator(MESSAGES).locator("a")).to_have_count(0)  # nothing there can navigate
    url_before = page.url
    page.locator(MESSAGES).nth(2).get_by_text("click me", exact=False).click()
    assert page.evaluate("() => location.href") == url_before and dialogs == []

    # replayed from storage: leave the conversation and open it again from the sidebar
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="New conversation").click()
    expect(page.locator(MESSAGES)).to_have_count(0)
    expect(page.get_by_text("Start by typing your question below.")).to_be_visible()
    title = sidebar.get_by_role("button", name=XSS_PAYLOADS[0], exact=True)
    expect(title).to_have_count(1)  # the title is the literal first message too
    title.click()
    wait_for_reply(page, 2 * len(XSS_PAYLOADS))
    assert_payloads_inert(page, dialogs)

    # and once more after a further turn (every rerun replays the whole conversation)
    send(page, "Thanks, how do I freeze my card?")
    wait_for_reply(page, 2 * len(XSS_PAYLOADS) + 2)
    assert_payloads_inert(page, dialogs)


def test_hostile_text_typed_in_the_browser_gets_a_reply_or_a_clear_message(server, page) -> None:
    dialogs = watch_dialogs(page)
    log_in(page, server.url, "alice")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    page.get_by_test_id("stSidebar").get_by_role("button", name="New conversation").click()
    opener = f"A few odd questions, batch {uuid.uuid4().hex[:8]}"  # the conversation's title
    send(page, opener)
    wait_for_reply(page, 2)
    shown = 2  # bubbles on the page
    accepted = [opener]
    for case_id in BROWSER_SUBSET:
        message = by_id(case_id)
        assert isinstance(message, str) and "\n" not in message
        send(page, message)
        if case_id in MUST_REJECT:
            error = page.get_by_test_id("stAlertContentError")
            expect(error).to_be_visible()
            expect(error).to_contain_text(re.compile(r"\w{3,}.*\."))  # a sentence, not a code
            kept = page.get_by_label(re.compile("Your message \\(not sent\\)"))
            expect(kept).to_have_value(message)
        else:
            shown += 2
            accepted.append(message)
            wait_for_reply(page, shown)
            bubbles = page.locator(MESSAGES)
            expect(bubbles.nth(shown - 2)).to_contain_text(message.strip())
            expect(bubbles.nth(shown - 1)).not_to_be_empty()
            expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
        no_crash_shown(page)
    # the stored history replays every accepted message, in order, and nothing else
    page.get_by_test_id("stSidebar").get_by_role("button", name="New conversation").click()
    expect(page.locator(MESSAGES)).to_have_count(0)
    page.get_by_test_id("stSidebar").get_by_role("button", name=opener, exact=True).click()
    wait_for_reply(page, 2 * len(accepted))
    for i, message in enumerate(accepted):
        expect(page.locator(MESSAGES).nth(2 * i)).to_contain_text(message)
    no_crash_shown(page)
    assert dialogs == []


# --- one customer, another customer's conversation -------------------------------------

def sign_up(page: Page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_role("tab", name="Sign up").click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_role("button", name="Sign up"))
    form.get_by_label("Username").fill(username)
    form.get_by_label("Password", exact=True).fill(STRONG_PASSWORD)
    form.get_by_label("Password again").fill(STRONG_PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()


def alices_conversation_ids(server) -> list[int]:
    db = create_engine(server.sqlalchemy_url)
    try:
        with db.connect() as connection:
            return list(connection.execute(text(
                "select c.id from conversations c join users u on u.id = c.user_id "
                "where u.username = 'alice' order by c.id")).scalars())
    finally:
        db.dispose()


def go_within_session(page: Page, path: str) -> None:
    """Change the URL inside the running session (a full load starts a new session)."""
    page.evaluate("(path) => { window.history.pushState({}, '', path); "
                  "window.dispatchEvent(new PopStateEvent('popstate')); }", path)


def session_cookie(context) -> dict:
    """The HttpOnly session cookie (set by a fetch just after login, so wait for it)."""
    for _ in range(300):
        cookie = next((c for c in context.cookies() if c["name"] == "concierge_session"), None)
        if cookie is not None:
            return cookie
        time.sleep(0.1)
    raise AssertionError("the session cookie was never set")


def new_page(browser, cookie: dict | None = None) -> tuple[BrowserContext, Page]:
    context = browser.new_context()
    if cookie is not None:
        context.add_cookies([cookie])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return context, page


def test_another_customer_cannot_reach_a_conversation_through_the_url(server, browser) -> None:
    secret = f"my pin is {uuid.uuid4().hex[:8]}, my card was stolen"
    alice_context, alice = new_page(browser)
    log_in(alice, server.url, "alice")
    expect(alice.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    send(alice, secret)
    wait_for_reply(alice, 2)
    expect(alice.locator(MESSAGES).first).to_contain_text(secret)
    ids = alices_conversation_ids(server)
    assert ids, "alice's conversation is not in the database"
    target = ids[-1]

    context, page = new_page(browser)
    dialogs = watch_dialogs(page)
    mallory = f"mallory_{uuid.uuid4().hex[:8]}"
    sign_up(page, server.url, mallory)
    session_cookie(context)  # set by a script just after login: let it land first
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Your conversations")).to_have_count(0)

    tampered = [f"/?conversation_id={target}", f"/?conversation={target}",
                f"/chat?conversation_id={target}", f"/chat?conversation_id={ids[0]}",
                "/?conversation=1", "/chat?conversation_id=1&user=alice",
                f"/chat?conversation_id={target}&user_id=1&principal=alice&role=admin",
                f"/?session_token=1&principal=alice&conversation_id={target}",
                f"/chat?session={target}", f"/chat/{target}", f"/conversation/{target}"]
    for path in tampered:  # inside mallory's running session
        go_within_session(page, path)
        page.wait_for_timeout(300)
        expect(page.get_by_text(f"Logged in as {mallory}"), path).to_be_visible()
        expect(page.get_by_text(secret), path).to_have_count(0)
        expect(sidebar.get_by_text("Your conversations"), path).to_have_count(0)
        no_crash_shown(page)
    for path in tampered:  # as a page load: mallory's cookie brings back only mallory
        page.goto(server.url + path)
        if path.count("/") == 1:
            expect(page.get_by_text(f"Logged in as {mallory}"), path).to_be_visible()
            expect(page.get_by_role("heading", name="How can we help?"), path).to_be_visible()
        else:  # Streamlit's relative asset paths do not load below a nested path: blank
            page.wait_for_load_state("networkidle")
        expect(page.get_by_text(secret), path).to_have_count(0)
        expect(page.locator(MESSAGES), path).to_have_count(0)
        no_crash_shown(page)
    # a message from mallory goes to a new conversation of mallory's, never alice's
    page.goto(f"{server.url}/?conversation_id={target}")
    send(page, f"what is in conversation {target}?")
    wait_for_reply(page, 2)
    expect(page.get_by_text(secret)).to_have_count(0)
    assert alices_conversation_ids(server)[-1] == target
    assert dialogs == []
    context.close()

    # a supervisor (who may read traces) gets no conversation from the URL either
    sam_context, sam = new_page(browser)
    log_in(sam, f"{server.url}/?conversation_id={target}", "sam")
    expect(sam.get_by_text("Logged in as sam")).to_be_visible(timeout=SLOW)
    expect(sam.get_by_text("Start by typing your question below.")).to_be_visible()
    go_within_session(sam, f"/chat?conversation_id={target}")
    sam.wait_for_timeout(300)
    expect(sam.get_by_text(secret)).to_have_count(0)
    no_crash_shown(sam)
    sam_context.close()

    # alice herself still sees her conversation, unchanged
    expect(alice.locator(MESSAGES).first).to_contain_text(secret)
    expect(alice.locator(MESSAGES)).to_have_count(2)
    alice_context.close()


def test_a_forged_or_altered_session_cookie_is_no_login(server, browser) -> None:
    secret = f"my account number is {uuid.uuid4().hex[:8]}"
    alice_context, alice = new_page(browser)
    log_in(alice, server.url, "alice")
    expect(alice.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    real = session_cookie(alice_context)  # set by a script just after login: let it land first
    send(alice, secret)
    wait_for_reply(alice, 2)
    token = real["value"]
    target = alices_conversation_ids(server)[-1]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = [flipped, token[:-4], token + "x", secrets.token_urlsafe(32), "1", "alice",
              "'OR'1'='1'--", "a" * 3900, "eyJ1c2VyIjoiYWxpY2UiLCJyb2xlIjoiYWRtaW4ifQ"]
    for value in forged:
        context, page = new_page(browser, {**real, "value": value})
        page.goto(f"{server.url}/?conversation_id={target}")
        expect(page.get_by_role("button", name="Log in"), value[:40]).to_be_visible()
        expect(page.get_by_text("Logged in as")).to_have_count(0)
        expect(page.get_by_text(secret)).to_have_count(0)
        no_crash_shown(page)
        context.close()
    # the one-time code route refuses guesses and odd bodies without setting a cookie
    context, page = new_page(browser)
    page.goto(server.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    for body in ['{"code": "guess"}', '{"code": ""}', '{"code": null}', '{"code": ["x"]}',
                 '{}', "[]", '"code"', "42", "not json", "", '{"code": "' + "x" * 10_000 + '"}', b"\xff\xfe{"]:
        response = page.request.post(f"{server.url}/api/session", data=body,
                                     headers={"Content-Type": "application/json",
                                              "Origin": server.url})
        expected = 413 if len(body) > 1024 else 400  # bodies over 1 KiB are not even read
        assert response.status == expected, (body[:40], response.status, response.text()[:200])
        assert "Traceback" not in response.text()
    assert [c for c in context.cookies() if c["name"] == "concierge_session"] == []
    page.reload()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    context.close()
    # the real cookie still works for alice
    expect(alice.locator(MESSAGES).first).to_contain_text(secret)
    alice_context.close()


def test_a_customers_link_and_image_markup_stays_text_on_the_supervisor_trace_page(
        server, browser) -> None:
    """Customer text reaches staff on the traces page; there too it must build nothing
    (an image there would make a supervisor's browser fetch the customer's URL)."""
    # fixed text: the classifier reads it as a follow-up (so the "searched for" line shows);
    # its link says nothing of a topic of its own ("[verify]" read as verify_my_identity)
    follow_up = ("and how long does that take? ![t](http://beacon.invalid/t.png) "
                 "[here](https://evil.example/login)")
    alice_context, alice = new_page(browser)
    log_in(alice, server.url, "alice")
    expect(alice.get_by_role("heading", name="How can we help?")).to_be_visible(timeout=SLOW)
    send(alice, "Somebody stole my card yesterday, how do I freeze it?")
    wait_for_reply(alice, 2)
    send(alice, follow_up)
    wait_for_reply(alice, 4)
    expect(alice.locator(MESSAGES).nth(2)).to_contain_text(follow_up)
    conversation = alices_conversation_ids(server)[-1]
    alice_context.close()

    sam_context, sam = new_page(browser)
    fetched: list[str] = []
    sam.on("request", lambda request: fetched.append(request.url))
    dialogs = watch_dialogs(sam)
    log_in(sam, server.url, "sam")
    sam.get_by_role("link", name="Workflow traces").click()
    expect(sam.get_by_role("heading", name="Workflow traces")).to_be_visible()
    sam.get_by_role("spinbutton", name="Conversation").fill(str(conversation))
    sam.get_by_role("spinbutton", name="Conversation").press("Enter")
    main = sam.get_by_test_id("stMain")
    expect(main.get_by_text("Customer asked")).to_be_visible()  # the newest turn's trace
    expect(main.get_by_text("Read as a follow-up")).to_be_visible()
    expect(main.get_by_test_id("stTable")).to_contain_text("classify_intent")  # the spans
    # what retrieval searched for (the topic, then the follow-up) shows as typed
    expect(main).to_contain_text(follow_up)
    expect(sam.locator('a[href*="evil.example"]')).to_have_count(0)
    expect(sam.locator('img[src*="beacon.invalid"]')).to_have_count(0)
    assert not [url for url in fetched if "beacon.invalid" in url]
    assert dialogs == []
    no_crash_shown(sam)
    sam_context.close()

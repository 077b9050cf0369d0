"""A chat rerun reads and decrypts only what is new, not the whole transcript."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_DIR
from core.storage.encryption import Keyring

PASSWORD = "harbour-lantern-quietly-7"


def _logged_in(username: str) -> AppTest:
    at = AppTest.from_file(str(PROJECT_DIR / "app.py"), default_timeout=30)
    at.run()
    inputs = [t for t in at.text_input if t.label in ("Username", "Password") and t.key is None]
    inputs[0].input(username)
    inputs[1].input(PASSWORD)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def test_a_rerun_reads_and_decrypts_only_what_is_new(runtime, monkeypatch) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    conversation = runtime.chat.start_conversation(alice, "Earlier questions")
    for text in ("how do I change my PIN", "my card hasn't arrived", "can I use Apple Pay"):
        runtime.chat.send(alice, conversation, text)
    at = _logged_in("alice")
    at.session_state["conversation_id"] = conversation
    at.run()
    assert [m.name for m in at.chat_message] == ["user", "assistant"] * 3

    decrypted: list[str] = []
    decrypt = Keyring.decrypt_text
    monkeypatch.setattr(Keyring, "decrypt_text",
                        lambda self, token: decrypted.append(token) or decrypt(self, token))
    at.run()
    assert not at.exception
    assert [m.name for m in at.chat_message] == ["user", "assistant"] * 3
    unchanged = len(decrypted)
    assert unchanged <= 1, decrypted  # the sidebar's one title; no message of the transcript

    runtime.chat.send(alice, conversation, "how do I freeze my card")  # e.g. from another tab
    decrypted.clear()
    at.run()
    assert [m.name for m in at.chat_message] == ["user", "assistant"] * 4
    assert len(decrypted) == unchanged + 2  # just the new question and its reply
    assert at.chat_message[6].children[0].value == "how do I freeze my card"


def test_transcript_after_a_message_reads_only_the_later_ones(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    first = runtime.chat.send(alice, None, "how do I change my PIN")
    whole = runtime.chat.transcript(alice, first.conversation_id)
    runtime.chat.send(alice, first.conversation_id, "my card hasn't arrived")
    later = runtime.chat.transcript(alice, first.conversation_id, after=whole[-1].message_id)
    assert (later[0].role, later[0].text) == ("customer", "my card hasn't arrived")
    assert [e.role for e in later] == ["customer", "assistant"]
    assert later[1].question_id == later[0].message_id and later[0].answered
    assert runtime.chat.transcript(alice, first.conversation_id, after=later[-1].message_id) == []


def test_a_long_conversation_opens_on_its_latest_messages(runtime, monkeypatch) -> None:
    """Only the latest part of a long transcript is drawn (every element on the page is
    redrawn with each update), the rest a button away, oldest last."""
    import ui.chat_view

    monkeypatch.setattr(ui.chat_view, "SHOWN_AT_FIRST", 4)
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    conversation = runtime.chat.start_conversation(alice, "Earlier questions")
    questions = ["how do I change my PIN", "my card hasn't arrived", "can I use Apple Pay",
                 "how do I freeze my card", "what are the ATM fees"]
    for text in questions:
        runtime.chat.send(alice, conversation, text)
    at = _logged_in("alice")
    at.session_state["conversation_id"] = conversation
    at.run()
    assert len(at.chat_message) == 4
    assert at.chat_message[0].children[0].value == questions[3]  # the latest two turns
    earlier = next(b for b in at.button if b.label.startswith("Show earlier messages"))
    assert earlier.label == "Show earlier messages (6)"
    earlier.click()
    at.run()
    assert not at.exception
    assert len(at.chat_message) == 8
    assert at.chat_message[0].children[0].value == questions[1]
    next(b for b in at.button if b.label.startswith("Show earlier messages")).click()
    at.run()
    assert len(at.chat_message) == 10
    assert at.chat_message[0].children[0].value == questions[0]
    assert not [b for b in at.button if b.label.startswith("Show earlier messages")]


def test_a_long_sitting_moves_its_messages_into_the_history_now_and_then() -> None:
    """The fragment redraws every message since the last full run with each reply (and,
    live with a person, with each timed refresh); past FRAGMENT_AT_MOST of them a full run
    follows, which draws them once."""
    from core.conversations.service import TranscriptEntry
    from ui.chat_history import History
    from ui.chat_view import FRAGMENT_AT_MOST, fragment_full

    entry = TranscriptEntry(role="customer", text="hi", answered=True, message_id=1)
    history = History(conversation_id=1, user_id=1, entries=[entry] * 40, shown=40)
    assert not fragment_full(history, coming=2)  # just drawn by a full run
    assert not fragment_full(None, coming=2)  # a new conversation reruns the page anyway
    history.shown = 40 - (FRAGMENT_AT_MOST - 2)
    assert not fragment_full(history, coming=2)  # this message and its reply make it exactly
    assert not fragment_full(history)  # a timed refresh: the person's messages still fit
    history.shown -= 1
    assert fragment_full(history, coming=2)
    history.shown = 40 - FRAGMENT_AT_MOST
    assert not fragment_full(history)
    history.shown -= 1  # one more of the person's messages
    assert fragment_full(history)

"""The customer chat: history replayed from this tab's copy (`ui.chat_history`), the chat
itself in a fragment, the reply streamed, sources, feedback, conversations in the sidebar
and a way to reach a person, who then writes in the same chat, live (`ui.live_chat`).

A full run draws the stored history; the fragment draws what came since (a reply that
brings that past `FRAGMENT_AT_MOST` messages is followed by a full run), the chat input
and the hand-off state. While a person is asked for or holds the conversation the
fragment also reruns by itself every `refresh_s`, so the agent's messages appear with no
click; each of its runs re-checks the session and the permission.
"""

from __future__ import annotations

import logging

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.conversations.service import ChatService, ConversationNotFound, TranscriptEntry
from core.conversations.validation import InvalidMessage
from core.conversations.waiting import WaitingService
from core.security.auth import Principal
from core.security.rate_limits import RateLimited
from ui import chat_history
from ui.chat_history import History
from ui.live_chat import LIVE, hand_off_state, show_person_entry
from ui.session import guard_callback, recheck_permission, stop_fragment
from ui.text import literal, reply_markdown

CONVERSATION_KEY = "conversation_id"
SIDEBAR_CONVERSATIONS = 30
SHOWN_AT_FIRST = 40
"""Messages drawn when a conversation opens; older ones come `SHOWN_AT_FIRST` at a time on
request. The browser redraws every element on the page with each update of a rerun, so a
long transcript drawn whole slowed every reply (200 messages: +46% a reply)."""
FRAGMENT_AT_MOST = 10
"""Messages the chat fragment draws since the last full run before a reply is followed by
a full run, which draws them with the history: the fragment redraws all of them with each
message, so a long chat in one sitting got slower with every reply."""
WINDOW_KEY = "chat_window"
CHOSEN_KEY = "chosen_option"
"""A topic the customer picked from a clarifying question: the fragment sends it next."""
log = logging.getLogger("concierge.ui")


def render_chat(chat: ChatService, user: Principal, waiting: WaitingService,
                refresh_s: float = 1.0) -> None:
    """The page: sidebar and stored history on a full run; the chat itself in a fragment,
    so sending a message reruns only the fragment (not the sidebar, not the history)."""
    _sidebar(chat, user)
    st.title("How can we help?")
    history = _history(chat, user)
    if history is None or not history.entries:
        st.caption("Start by typing your question below.")
    else:
        for entry in history.entries[_first_shown(history):]:
            _show_entry(chat, user, entry)
        history.shown = len(history.entries)
    live = history is not None and waiting.status(user, history.conversation_id).status in LIVE
    st.fragment(_live_chat, run_every=refresh_s if live else None)(chat, waiting, live)


def _history(chat: ChatService, user: Principal) -> History | None:
    """This tab's history of the open conversation, brought up to date, or None."""
    conversation_id = st.session_state.get(CONVERSATION_KEY)
    if conversation_id is None:
        return None
    try:
        return chat_history.refreshed(chat, user, conversation_id)
    except ConversationNotFound:
        st.session_state.pop(CONVERSATION_KEY, None)
        chat_history.forget()
        return None


def _first_shown(history: History) -> int:
    """Where the drawn part of the transcript starts, with a button for the earlier part."""
    window = st.session_state.get(WINDOW_KEY)
    count = window[1] if isinstance(window, tuple) and window[0] == history.conversation_id \
        else SHOWN_AT_FIRST
    start = max(0, len(history.entries) - count)
    if start and st.button(f"Show earlier messages ({start})", icon=":material/history:"):
        st.session_state[WINDOW_KEY] = (history.conversation_id, count + SHOWN_AT_FIRST)
        st.rerun()
    return start


def _live_chat(chat: ChatService, waiting: WaitingService, live: bool) -> None:
    """What came since the last full run, the hand-off state, the pending-answer offer and
    the chat input."""
    with st.bottom:  # pinned under the conversation, as in any chat, with the topics above it
        options = st.container()
        prompt = st.chat_input("Ask about your card, payments, transfers or account…",
                               max_chars=None)
    prompt = prompt or st.session_state.pop(CHOSEN_KEY, None)
    user = recheck_permission("chat:use", touch=bool(prompt))  # a timed refresh is no activity
    if user is None:
        stop_fragment()
        return
    history = _history(chat, user)
    if history is not None:
        for entry in history.entries[history.shown:]:
            _show_entry(chat, user, entry)
        if hand_off_state(waiting, user, history.conversation_id, live):
            return  # a person joined or left: the page reruns to start or stop the refresh
        if not prompt and fragment_full(history):
            # a person's messages, redrawn by every timed refresh: drawn once in the history
            st.rerun(scope="app")
        if not prompt and history.entries:
            last = history.entries[-1]
            with options:
                offer_options(last.turn_id, last.options if last.role == "assistant" else [])
        if not prompt and history.unanswered:
            st.info("We didn't get to answer your last message (our service was interrupted).")
            answer_now, _ = st.columns([1, 2])
            if answer_now.button("Answer it now", icon=":material/replay:"):
                _answer_pending(chat, user, history.conversation_id)
    if prompt:
        _send(chat, user, history.conversation_id if history else None, prompt, options,
              redraw_after=fragment_full(history, coming=2))


def fragment_full(history: History | None, coming: int = 0) -> bool:
    """Whether what the fragment draws since the last full run, with `coming` messages
    more (a message and its reply), is past `FRAGMENT_AT_MOST`: then a full run follows."""
    return history is not None and \
        len(history.entries) - history.shown + coming > FRAGMENT_AT_MOST


def offer_options(turn_id: int | None, options: list[str]) -> None:
    """The topics the latest clarifying question offered, as buttons: a click sends the
    topic as the customer's next message (under the reply, until something follows it)."""
    if turn_id is None or not options:
        return
    with st.container(horizontal=True, key=f"options-{turn_id}"):
        for n, title in enumerate(options):
            st.button(literal(title), key=f"option-{turn_id}-{n}", icon=":material/reply:",
                      on_click=_choose, args=(title,))


@guard_callback("chat:use")
def _choose(user: Principal, title: str) -> None:
    del user  # the message is sent, and checked again, by the fragment's next run
    st.session_state[CHOSEN_KEY] = title


def _show_entry(chat: ChatService, user: Principal, entry: TranscriptEntry) -> None:
    if entry.role in ("agent", "event"):
        show_person_entry(entry)
        return
    if entry.role == "customer":
        with st.chat_message("user"):
            st.text(entry.text)  # no Markdown at all: Streamlit rewrites even escaped text
            if not entry.answered:
                st.caption("Not answered yet.")
        return
    with st.chat_message("assistant"):
        st.markdown(reply_markdown(entry.text))  # no link or image, whoever wrote it
        _details(chat, user, entry.turn_id, entry.sources, entry.intent, entry.confidence,
                 entry.feedback)


def _details(chat: ChatService, user: Principal, turn_id: int | None, sources: list[dict],
             intent: str | None, confidence: float | None, feedback: int | None) -> None:
    if sources:
        with st.expander("Sources"):
            for source in sources:
                st.markdown(f"- {literal(source['title'])}")
    if user.can("monitoring:read") and intent:
        st.caption(f"intent {literal(intent)} · confidence {confidence or 0:.2f}")
    if turn_id is None:
        return
    key = f"feedback-{turn_id}"
    if key not in st.session_state and feedback is not None:
        st.session_state[key] = feedback
    st.feedback("thumbs", key=key, on_change=_store_feedback, args=(chat, turn_id, key))


@guard_callback("chat:use")
def _store_feedback(user: Principal, chat: ChatService, turn_id: int, key: str) -> None:
    score = st.session_state.get(key)
    if score is None:
        return
    try:
        chat.give_feedback(user, turn_id, int(score))
        st.toast("Thanks for the feedback!")
    except Exception:
        log.exception("storing feedback failed")
        st.toast("Sorry, we couldn't save your feedback. Please try again.")


def _send(chat: ChatService, user: Principal, conversation_id: int | None, prompt: str,
          options: DeltaGenerator, redraw_after: bool = False) -> None:
    """One message and its streamed reply (a clarifying question's topics go in `options`);
    `redraw_after`: a full run follows the reply."""
    with st.chat_message("user"):
        st.text(prompt)
    try:
        turn = chat.stream(user, conversation_id, prompt)
    except (InvalidMessage, RateLimited, ConversationNotFound) as exc:
        _keep_text(str(exc), prompt)
        return
    except Exception:
        log.exception("chat turn failed")
        _keep_text("Sorry, something went wrong on our side. Please try again.", prompt)
        return
    started_one = conversation_id is None
    st.session_state[CONVERSATION_KEY] = turn.conversation_id
    if turn.for_person:  # a person has this conversation: the live chat shows it
        # (not turn.reply, which waits for the whole reply and would stop it streaming)
        st.rerun(scope="app")
    with st.chat_message("assistant"):
        written = None  # the reply's element, drawn with its first piece and then replaced
        shown = ""
        try:
            # Shown as it streams with the same guard as the stored reply (no link, image or
            # autolinked URL, even in a half-written word); the stored, tidied reply replaces
            # it when it differs (each update redraws the page: none is sent in vain).
            streamed = ""
            for chunk in turn:
                streamed += chunk
                shown = reply_markdown(streamed)
                if written is None:
                    written = st.markdown(shown)
                else:
                    written.markdown(shown)
            reply = turn.reply
        except Exception:
            log.exception("chat turn failed")
            (written or st).error("Sorry, something went wrong on our side. Please try again.")
            return
        if (final := reply_markdown(reply.text)) != shown:
            (written or st).markdown(final)
        _details(chat, user, reply.turn_id, reply.sources, reply.intent, reply.confidence, None)
    with options:
        offer_options(reply.turn_id, reply.options)
    if started_one or reply.route == "handoff" or redraw_after:
        # the sidebar lists the new conversation; a hand-off goes live; or the messages
        # since the last full run move into the history, drawn once
        st.rerun(scope="app")


def _answer_pending(chat: ChatService, user: Principal, conversation_id: int) -> None:
    try:
        chat.answer_pending(user, conversation_id)
    except RateLimited as exc:
        st.error(str(exc))
        return
    except Exception:
        log.exception("answering a pending message failed")
        st.error("Sorry, we still can't answer it. Please try again or talk to a person.")
        return
    st.rerun()


def _keep_text(message: str, prompt: str) -> None:
    st.error(message)
    st.text_area("Your message (not sent). Copy or edit it, then send it again:",
                 value=prompt[:20_000], key="unsent_message")


def _sidebar(chat: ChatService, user: Principal) -> None:
    with st.sidebar:
        if st.button("New conversation", icon=":material/add_comment:", use_container_width=True):
            st.session_state.pop(CONVERSATION_KEY, None)
            st.rerun()
        current = st.session_state.get(CONVERSATION_KEY)
        if st.button("Talk to a person", icon=":material/support_agent:", use_container_width=True):
            _hand_off(chat, user, current)
        conversations = chat.conversations(user, limit=SIDEBAR_CONVERSATIONS)
        if conversations:
            st.caption("Your conversations")
        for conversation in conversations:
            label = conversation.title or "Conversation"
            kind = "primary" if conversation.id == current else "secondary"
            if st.button(literal(label), key=f"conversation-{conversation.id}", type=kind,
                         use_container_width=True):
                st.session_state[CONVERSATION_KEY] = conversation.id
                st.rerun()


def _hand_off(chat: ChatService, user: Principal, conversation_id: int | None) -> None:
    try:
        if conversation_id is None:
            conversation_id = chat.start_conversation(user, "Talk to a person")
            st.session_state[CONVERSATION_KEY] = conversation_id
        chat.request_handoff(user, conversation_id)
    except RateLimited as exc:
        st.error(str(exc))
        return
    except Exception:
        log.exception("hand-off request failed")
        st.error("Sorry, we couldn't reach the team just now. Please try again.")
        return
    st.success("We've asked a person from our team to join this conversation.")

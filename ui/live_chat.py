"""The customer's side of a hand-off, live with no click: the transcript redrawn from the
store while a person is asked for or holds the conversation ("Max joined", the agent's
messages), the place in the queue, and rating the help once it is resolved.

The fragment reruns every `live_refresh_s` while the conversation is waiting or open and
re-checks the session and permission each time; when a person joins or leaves it reruns
the page so the refresh starts or stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from core.conversations.service import TranscriptEntry
from core.conversations.waiting import HandoffStatus, WaitingService
from core.security.auth import Principal
from ui.session import recheck_permission, stop_fragment

log = logging.getLogger("concierge.ui")
LIVE = ("waiting", "open")


def live_transcript(waiting: WaitingService, user: Principal, conversation_id: int,
                    refresh_s: float, draw: Callable[[Principal, TranscriptEntry], None],
                    transcript: Callable[[Principal, int], list[TranscriptEntry]]) -> None:
    """Draw the conversation (and its hand-off state), refreshed while a person is involved."""
    live = waiting.status(user, conversation_id).status in LIVE

    @st.fragment(run_every=refresh_s if live else None)
    def panel() -> None:
        me = recheck_permission("chat:use", touch=False)
        if me is None:
            stop_fragment()
            return
        status = waiting.status(me, conversation_id)
        if (status.status in LIVE) != live:
            st.rerun(scope="app")  # start or stop the live refresh
        for entry in transcript(me, conversation_id):
            draw(me, entry)
        _banner(status)
        if status.can_rate:
            _rating(waiting, conversation_id, status)

    panel()


def show_person_entry(entry: TranscriptEntry) -> None:
    """An agent's message (literal text, never Markdown) or a hand-off event."""
    if entry.role == "event":
        st.caption(entry.text)
        return
    with st.chat_message("human", avatar=":material/support_agent:"):
        st.caption((entry.sender or "agent").title())
        st.text(entry.text)


def _banner(status: HandoffStatus) -> None:
    if status.status == "waiting":
        ahead = {0: "You're next.", 1: "1 customer is ahead of you."}.get(
            status.ahead, f"{status.ahead} customers are ahead of you.")
        st.info(f"You're waiting for a person from our team. {ahead}"
                + (f" {status.back_at}" if status.back_at else ""), icon=":material/schedule:")
    elif status.status == "open":
        st.caption(f"You're chatting with {(status.agent or 'an agent').title()}.")


def _rating(waiting: WaitingService, conversation_id: int, status: HandoffStatus) -> None:
    st.write("How did we do? Rate the help you got:")
    key = f"rating-{conversation_id}"
    if key not in st.session_state and status.rating is not None:
        st.session_state[key] = status.rating - 1
    st.feedback("stars", key=key, on_change=_store_rating, args=(waiting, conversation_id, key))
    if status.rating is not None:
        comment_key = f"rating-comment-{conversation_id}"
        st.text_input("Anything to add? (optional)", key=comment_key, max_chars=1000)
        st.button("Send comment", key=f"rating-send-{conversation_id}", on_click=_store_rating,
                  args=(waiting, conversation_id, key, comment_key))


def _store_rating(waiting: WaitingService, conversation_id: int, key: str,
                  comment_key: str | None = None) -> None:
    user = recheck_permission("chat:use")
    stars = st.session_state.get(key)
    if user is None or stars is None:
        return
    try:
        comment = st.session_state.get(comment_key) if comment_key else None
        waiting.rate(user, conversation_id, int(stars) + 1, comment)
        st.toast("Thanks for rating the help!")
    except Exception:
        log.exception("storing a rating failed")
        st.toast("Sorry, we couldn't save your rating. Please try again.")

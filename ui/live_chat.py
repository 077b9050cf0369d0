"""The customer's side of a hand-off, drawn inside the chat fragment (`ui.chat_view`),
which reruns by itself every `live_refresh_s` while a person is asked for or holds the
conversation: "Max joined" and the agent's messages (literal text), the place in the
queue, and rating the help once it is resolved."""

from __future__ import annotations

import logging

import streamlit as st

from core.conversations.service import TranscriptEntry
from core.conversations.waiting import HandoffStatus, WaitingService
from core.security.auth import Principal
from ui.session import recheck_permission

log = logging.getLogger("concierge.ui")
LIVE = ("waiting", "open")


def hand_off_state(waiting: WaitingService, user: Principal, conversation_id: int,
                   live: bool) -> bool:
    """Inside the chat fragment: the waiting banner or who the customer is chatting with,
    and the rating once resolved. True when a person joined or left since the page was
    drawn: the whole page then reruns, so the live refresh starts or stops."""
    status = waiting.status(user, conversation_id)
    if (status.status in LIVE) != live:
        st.rerun(scope="app")
        return True
    _banner(status)
    if status.can_rate:
        _rating(waiting, conversation_id, status)
    return False


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

"""The chat page's transcript, kept in this tab's session state.

The conversation is read from storage once; every later run asks the chat service only
for the messages stored since the last one it has (`transcript(after=...)`: the ownership
and permission checks still run on every call, but nothing old is read or decrypted
again). `shown` marks how much of it the last full run drew: the chat fragment draws the
rest, so a message reruns the fragment alone and the long history is not sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import streamlit as st

from core.conversations.service import ChatService, TranscriptEntry
from core.security.auth import Principal

HISTORY_KEY = "chat_history"


@dataclass
class History:
    """What this tab knows of one conversation."""

    conversation_id: int
    user_id: int
    entries: list[TranscriptEntry] = field(default_factory=list)
    last_message_id: int = 0
    shown: int = 0
    """How many entries the last full run drew (outside the chat fragment)."""

    def merge(self, new: list[TranscriptEntry]) -> None:
        """Add messages read since `last_message_id`; a new reply marks its question answered."""
        if not new:
            return
        answered = {e.question_id for e in new if e.question_id is not None}
        if answered:
            self.entries = [replace(e, answered=True) if e.message_id in answered else e
                            for e in self.entries]
        self.entries.extend(new)
        self.last_message_id = max(self.last_message_id, *(e.message_id for e in new))

    @property
    def unanswered(self) -> bool:
        return any(not e.answered for e in self.entries)


def refreshed(chat: ChatService, user: Principal, conversation_id: int) -> History:
    """This tab's history of the conversation, brought up to date (raises what
    `ChatService.transcript` raises, e.g. ConversationNotFound)."""
    history = st.session_state.get(HISTORY_KEY)
    if not isinstance(history, History) or (history.conversation_id, history.user_id) != (
            conversation_id, user.id):
        history = History(conversation_id, user.id)
    history.merge(chat.transcript(user, conversation_id, after=history.last_message_id))
    st.session_state[HISTORY_KEY] = history
    return history


def forget() -> None:
    st.session_state.pop(HISTORY_KEY, None)

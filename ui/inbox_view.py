"""The inbox page: the queue (oldest first, with the bot's summary) and, once taken, the
conversation worked live: transcript, reply, an article's answer as a draft, private notes.

Customer and bot text is shown literally (`st.text`), never as Markdown or HTML. The
queue and the open conversation refresh from the store with no click; every refresh and
every button callback re-checks the session and the permission first.
"""

from __future__ import annotations

import logging

import streamlit as st

from core.conversations.handoff import HandoffConflict, may_supervise
from core.conversations.inbox import VIEWS, InboxEntry, QueueRow
from core.conversations.validation import InvalidMessage
from core.runtime import Runtime
from core.security.auth import NotAllowed, Principal
from ui.session import client_address, recheck_permission, stop_fragment
from ui.text import literal

log = logging.getLogger("concierge.ui")
OPEN_KEY = "inbox_open"
NOTICE_KEY = "inbox_notice"
DRAFT_KEY = "inbox_draft"
PAGE_SIZE = 25
LABELS = dict(zip(VIEWS, ("Waiting", "Mine", "All open", "Resolved"), strict=True))
AUDITED = {"take", "release", "transfer", "resolve", "hand_back"}
"""Actions that go to the audit log, with the client's address."""
SENDERS = {"customer": "Customer", "assistant": "Bot", "agent": "Agent"}


def render_inbox(runtime: Runtime, user: Principal) -> None:
    st.title("Inbox")
    st.caption(f"Agent hours {runtime.waiting.hours.describe()}"
               + ("" if runtime.waiting.hours.is_open() else " · outside hours now"))
    if notice := st.session_state.pop(NOTICE_KEY, None):
        st.warning(notice)
    conversation_id = st.session_state.get(OPEN_KEY)
    if conversation_id is None:
        view = st.segmented_control("Show", list(VIEWS), format_func=LABELS.get,
                                    default="waiting", key="inbox_view") or "waiting"
        _queue(runtime, view, runtime.settings.live_refresh_s * 2)
    else:
        _work(runtime, user, conversation_id)


def _queue(runtime: Runtime, view: str, every: float) -> None:
    @st.fragment(run_every=every)
    def queue() -> None:
        user = recheck_permission("inbox:work", touch=False)
        if user is None:
            stop_fragment()
            return
        if st.session_state.get(OPEN_KEY) is not None:
            st.rerun(scope="app")  # Take or Open was clicked: show the conversation
        page = runtime.inbox.queue(user, view, limit=PAGE_SIZE)
        st.caption(f"{page.total} conversation{'s' * (page.total != 1)}"
                   + (f" · showing the first {len(page.rows)}" if page.total > len(page.rows)
                      else ""))
        for row in page.rows:
            _queue_row(runtime, row)

    queue()


def _queue_row(runtime: Runtime, row: QueueRow) -> None:
    with st.container(border=True):
        about, act = st.columns([5, 1])
        waited = f" · waiting {_duration(row.waited_s())}" if row.status == "waiting" else ""
        holder = f" · with {literal(row.assignee)}" if row.assignee else ""
        about.markdown(f"**{literal(row.customer)}**{waited}{holder} · "
                       f"intent {literal(row.intent or 'unknown')}")
        about.caption(f"The bot: {row.tried}")
        for role, text in row.last_messages:
            about.text(f"{SENDERS.get(role, role)}: {_short(text)}")
        if row.status == "waiting":
            act.button("Take", key=f"take-{row.conversation_id}", type="primary",
                       on_click=_take, args=(runtime, row.conversation_id))
        act.button("Open", key=f"open-{row.conversation_id}", on_click=_open,
                   args=(row.conversation_id,))


def _work(runtime: Runtime, user: Principal, conversation_id: int) -> None:
    try:
        head, _ = runtime.inbox.conversation(user, conversation_id)
    except (NotAllowed, LookupError) as exc:
        st.session_state.pop(OPEN_KEY, None)
        st.warning(str(exc))
        return
    holding = head.status == "open" and (head.assignee == user.username or may_supervise(user))
    st.button("Back to the queue", icon=":material/arrow_back:", on_click=_open, args=(None,))
    st.subheader(f"{literal(head.customer)} · {head.status}"
                 + (f" · with {literal(head.assignee)}" if head.assignee else ""))
    _actions(runtime, user, head, holding)
    _transcript(runtime, conversation_id, head.status, head.assignee,
                runtime.settings.live_refresh_s)
    if holding:
        _draft(runtime, user, conversation_id)
        reply = st.chat_input(f"Reply to {head.customer}")
        if reply:
            _act(runtime.handoff.reply, conversation_id, reply)
            st.rerun()
    with st.form(f"note-{conversation_id}", clear_on_submit=True):
        note = st.text_area("Private note (agents only; the customer never sees it)",
                            max_chars=2000)
        if st.form_submit_button("Add note") and note.strip():
            _act(runtime.handoff.note, conversation_id, note)


def _actions(runtime: Runtime, user: Principal, head: QueueRow, holding: bool) -> None:
    cid = head.conversation_id
    if head.status == "waiting":
        st.button("Take", type="primary", on_click=_take, args=(runtime, cid))
        return
    if not holding:
        return
    cols = st.columns(4)
    cols[0].button("Release", on_click=_act, args=(runtime.handoff.release, cid))
    cols[1].button("Resolve", type="primary", on_click=_act, args=(runtime.handoff.resolve, cid))
    cols[2].button("Hand back to the assistant", on_click=_act,
                   args=(runtime.handoff.hand_back, cid))
    with cols[3].popover("Transfer"):
        agents = runtime.inbox.agents(user)
        target = st.selectbox("To", agents, key=f"transfer-to-{cid}")
        st.button("Transfer", key=f"transfer-{cid}", disabled=not agents, on_click=_act,
                  args=(runtime.handoff.transfer, cid, target))


def _transcript(runtime: Runtime, conversation_id: int, status: str, assignee: str | None,
                every: float) -> None:
    @st.fragment(run_every=every)
    def transcript() -> None:
        user = recheck_permission("inbox:work", touch=False)
        if user is None:
            stop_fragment()
            return
        try:
            head, entries = runtime.inbox.conversation(user, conversation_id)
        except (NotAllowed, LookupError):
            st.rerun(scope="app")
            return
        if (head.status, head.assignee) != (status, assignee):
            st.rerun(scope="app")  # taken, transferred or resolved elsewhere: new buttons
        for entry in entries:
            _entry(entry)

    transcript()


def _entry(entry: InboxEntry) -> None:
    if entry.role == "event":
        st.caption(entry.text)
        return
    avatar = {"customer": "user", "assistant": "assistant", "agent": ":material/support_agent:",
              "note": ":material/lock:"}.get(entry.role, "assistant")
    with st.chat_message(entry.role, avatar=avatar):
        if entry.role in ("agent", "note"):
            st.caption(f"{'Private note by ' if entry.role == 'note' else ''}"
                       f"{literal(entry.sender or 'agent')}")
        st.text(entry.text)
        if entry.turn_id is not None:
            st.caption(f"turn #{entry.turn_id} · intent {literal(entry.intent or '-')} · "
                       f"confidence {entry.confidence or 0:.2f} · {literal(entry.route or '-')}")


def _draft(runtime: Runtime, user: Principal, conversation_id: int) -> None:
    with st.expander("Insert an article's answer as a draft"):
        words = st.text_input("Search articles by title", key="inbox_article_search")
        found = runtime.inbox.find_articles(user, words)
        chosen = st.selectbox("Article", found, format_func=lambda a: a.title,
                              key="inbox_article") if found else None
        if chosen is not None and st.button("Insert as draft"):
            st.session_state[DRAFT_KEY] = chosen.body
        if not found:
            st.caption("No article has those words in its title.")
    draft = st.session_state.get(DRAFT_KEY)
    if draft is not None:
        text = st.text_area("Draft reply (edit, then send)", value=draft, height=200)
        send, drop = st.columns(2)
        if send.button("Send draft", type="primary"):
            _act(runtime.handoff.reply, conversation_id, text)
            st.session_state.pop(DRAFT_KEY, None)
            st.rerun()
        if drop.button("Discard draft"):
            st.session_state.pop(DRAFT_KEY, None)
            st.rerun()


def _take(runtime: Runtime, conversation_id: int) -> None:
    if _act(runtime.handoff.take, conversation_id):
        st.session_state[OPEN_KEY] = conversation_id


def _open(conversation_id: int | None) -> None:
    if recheck_permission("inbox:work") is not None:
        st.session_state[OPEN_KEY] = conversation_id


def _act(action, conversation_id: int, *args: object) -> bool:
    """Run a hand-off action for the re-checked user; a refusal becomes a notice."""
    user = recheck_permission("inbox:work")
    if user is None:
        return False
    try:
        if action.__name__ in AUDITED:
            action(user, conversation_id, *args, client=client_address())
        else:
            action(user, conversation_id, *args)
        return True
    except (HandoffConflict, InvalidMessage, NotAllowed) as exc:
        st.session_state[NOTICE_KEY] = str(exc)
    except Exception:
        log.exception("inbox action failed")
        st.session_state[NOTICE_KEY] = "Sorry, that didn't work. Please try again."
    return False


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {secs} s" if minutes else \
        f"{secs} s"


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit - 1] + "…"

"""The browser side of the session cookie: reading it, and handing a new one over.

The token reaches the browser only as an HttpOnly cookie set by `ui.session_routes`.
After a login the page runs a small script that posts a one-time code there; the code
is issued for this tab's nonce (a random value the tab keeps in `sessionStorage`,
written on the tab's first run), so a code copied into another tab is refused. Over
https the cookie is `__Host-concierge_session` and only that name is read.
"""

from __future__ import annotations

import json
import secrets

import streamlit as st

from core.security.browser_sessions import COOKIE_HANDOFF, cookie_name

COOKIE_ROUTE = "/api/session"
CODE_KEY = "cookie_code"
RUNS_KEY = "cookie_runs"
RUNS = 3
TAB_KEY = "tab_nonce"
TAB_SENT_KEY = "tab_nonce_sent"
KEPT_KEYS = (TAB_KEY, TAB_SENT_KEY)
"""Session-state keys that outlive a logout or login: they belong to the tab, not the user."""
TAB_STORAGE = "concierge-tab"


def _over_https() -> bool:
    try:
        url = st.context.url or ""
        origin = st.context.headers.get("origin") or ""
    except Exception:  # noqa: BLE001 (no request context in AppTest)
        return False
    return url.startswith("https://") or origin.startswith("https://")


def cookie_token() -> str | None:
    """The session token from the browser's cookie (the `__Host-` one over https)."""
    try:
        token = st.context.cookies.get(cookie_name(secure=_over_https()))
    except Exception:  # noqa: BLE001 (no request context in AppTest)
        return None
    return token if isinstance(token, str) else None


def _tab_nonce() -> str:
    if TAB_KEY not in st.session_state:
        st.session_state[TAB_KEY] = secrets.token_urlsafe(24)
    return st.session_state[TAB_KEY]


def hand_over(token: str) -> None:
    """Ask this tab to store `token` as its cookie (on the next runs, see sync_cookie)."""
    st.session_state[CODE_KEY] = COOKIE_HANDOFF.offer(token, _tab_nonce())
    st.session_state.pop(RUNS_KEY, None)


def clear_cookie() -> None:
    """Ask this tab to drop its cookie."""
    st.session_state[CODE_KEY] = ""
    st.session_state.pop(RUNS_KEY, None)


def _script(body: str) -> None:
    st.html(f"<script>{body}</script>", unsafe_allow_javascript=True)


def sync_cookie() -> None:
    """Give the tab its nonce (first run), and run the browser side of a cookie change.

    The script only carries a one-time code; the route sets the HttpOnly cookie. It is
    drawn on the next few runs, not just one: a click right after logging in can replace
    the page before the browser ran it (the code is one-time, so repeats are harmless).
    """
    if not st.session_state.get(TAB_SENT_KEY):
        _script(f"sessionStorage.setItem({json.dumps(TAB_STORAGE)}, {json.dumps(_tab_nonce())});")
        st.session_state[TAB_SENT_KEY] = True
    code = st.session_state.get(CODE_KEY)
    if code is None:
        return
    runs = st.session_state.get(RUNS_KEY, 0) + 1
    if runs >= RUNS:
        st.session_state.pop(CODE_KEY, None)
        st.session_state.pop(RUNS_KEY, None)
    else:
        st.session_state[RUNS_KEY] = runs
    if code == "":
        request = "{method: 'DELETE', credentials: 'same-origin'}"
    else:
        body = (f"JSON.stringify({{code: {json.dumps(code)}, "
                f"tab: sessionStorage.getItem({json.dumps(TAB_STORAGE)}) || ''}})")
        request = ("{method: 'POST', credentials: 'same-origin', "
                   f"headers: {{'Content-Type': 'application/json'}}, body: {body}}}")
    _script(f"fetch({json.dumps(COOKIE_ROUTE)}, {request});")

"""Who is logged in, and the guard every page calls first.

A login starts a server-side session (`core.security.browser_sessions`): the token is kept in this
browser tab's session state and, through `ui.session_routes`, in an HttpOnly cookie, so
a reload stays logged in. Every run re-checks the session, so an idle or absolute
timeout, a logout elsewhere, a disabled account or a password change takes effect on the
next click, with a message on the login page.

Streamlit serves `pages/*.py` by URL even before `st.navigation` runs, so a page must
never rely on the router: `require_permission` shows the login prompt, or "not
allowed", and stops the script before anything else renders.
"""

from __future__ import annotations

import json

import streamlit as st

from core.security.auth import Principal
from core.security.browser_sessions import COOKIE_HANDOFF, COOKIE_NAME, SessionEnded, client_from
from ui.runtime import get_runtime

USER_KEY = "principal"
TOKEN_KEY = "session_token"
NOTICE_KEY = "login_notice"
COOKIE_CODE_KEY = "cookie_code"
COOKIE_RUNS_KEY = "cookie_runs"
COOKIE_RUNS = 3
REJECTED_KEY = "rejected_token"
"""A cookie token the server refused: not asked about again until the page reloads."""
COOKIE_ROUTE = "/api/session"


def client_address() -> str | None:
    """The browser's address (None in tests): the connection's peer, or behind a trusted
    load balancer (`CONCIERGE_TRUST_PROXY_HEADERS`) the first X-Forwarded-For address."""
    try:
        peer, headers = st.context.ip_address, dict(st.context.headers)
    except Exception:  # noqa: BLE001 (no request context in AppTest)
        return None
    return client_from(peer if isinstance(peer, str) else None, headers,
                       trust_proxy=get_runtime().settings.trust_proxy_headers)


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 (no request context in AppTest)
        return None
    return token if isinstance(token, str) else None


def current_user() -> Principal | None:
    """The logged-in user, re-checked against their server-side session on every run."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        cookie = _cookie_token()
        token = cookie if cookie != st.session_state.get(REJECTED_KEY) else None
    if not token:
        return None
    try:
        user = get_runtime().accounts.user_sessions.resume(token)
    except SessionEnded as ended:
        notice = st.session_state.get(NOTICE_KEY)
        if notice is None and TOKEN_KEY in st.session_state:
            notice = str(ended)  # ended while this tab was using it: say why
        _forget_everything()
        st.session_state[REJECTED_KEY] = token
        if notice:
            st.session_state[NOTICE_KEY] = notice
        if _cookie_token():
            st.session_state[COOKIE_CODE_KEY] = ""
        return None
    st.session_state[USER_KEY] = user
    st.session_state[TOKEN_KEY] = token
    return user


def _forget_everything() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def log_in(user: Principal) -> None:
    """Start a session for `user` and ask the browser to keep its cookie."""
    _forget_everything()
    token = get_runtime().accounts.start_session(user, client_address())
    st.session_state[USER_KEY] = user
    st.session_state[TOKEN_KEY] = token
    st.session_state[COOKIE_CODE_KEY] = COOKIE_HANDOFF.offer(token)


def log_out() -> None:
    user = current_user()
    token = st.session_state.get(TOKEN_KEY)
    if user is not None:
        get_runtime().accounts.log_out(user, token, client_address())
    _forget_everything()
    st.session_state[NOTICE_KEY] = "You have logged out."
    st.session_state[REJECTED_KEY] = token
    st.session_state[COOKIE_CODE_KEY] = ""  # the cookie may have been set after this page loaded


def sync_cookie() -> None:
    """Run the browser side of a cookie change (after login or logout).

    The script below only carries a one-time code; the route sets the HttpOnly cookie.
    It is drawn on the next few runs, not just one: a click right after logging in can
    replace the page before the browser ran it (the code is one-time, so repeats are
    harmless).
    """
    code = st.session_state.get(COOKIE_CODE_KEY)
    if code is None:
        return
    runs = st.session_state.get(COOKIE_RUNS_KEY, 0) + 1
    if runs >= COOKIE_RUNS:
        st.session_state.pop(COOKIE_CODE_KEY, None)
        st.session_state.pop(COOKIE_RUNS_KEY, None)
    else:
        st.session_state[COOKIE_RUNS_KEY] = runs
    method = "DELETE" if code == "" else "POST"
    body = "" if code == "" else f", body: {json.dumps(json.dumps({'code': code}))}"
    st.html(
        f"<script>fetch('{COOKIE_ROUTE}', {{method: '{method}', credentials: 'same-origin', "
        f"headers: {{'Content-Type': 'application/json'}}{body}}});</script>",
        unsafe_allow_javascript=True,
    )


def take_notice() -> str | None:
    """A message for the login page (why the last session ended), shown once."""
    return st.session_state.pop(NOTICE_KEY, None)


def require_permission(permission: str) -> Principal:
    user = current_user()
    if user is None:
        st.info("Please log in to continue.")
        st.markdown("[Go to the login page](/)")
        st.stop()
    if not user.can(permission):
        st.error("You're not allowed to see this page.")
        st.stop()
    return user


def recheck_permission(permission: str) -> Principal | None:
    """For every `st.fragment` rerun and widget callback: the user, re-validated against
    their server-side session, while they still hold `permission`; otherwise None, and the
    caller does nothing (a fragment then calls `stop_fragment`)."""
    user = current_user()
    return user if user is not None and user.can(permission) else None


def stop_fragment() -> None:
    """A live fragment whose user lost the session or the permission: rerun the whole page,
    whose guard shows the login prompt or "not allowed"."""
    st.rerun(scope="app")

"""Who is logged in, and the guard every page calls first.

A login starts a server-side session (`core.security.browser_sessions`): the token is kept in this
browser tab's session state and, through `ui.session_cookie`, in an HttpOnly cookie, so
a reload stays logged in. Every run re-checks the session, so an idle or absolute
timeout, a logout elsewhere, a disabled account or a password change takes effect on the
next click, with a message on the login page.

Streamlit serves `pages/*.py` by URL even before `st.navigation` runs, so a page must
never rely on the router: `require_permission` shows the login prompt, or "not
allowed", and stops the script before anything else renders.

The page guard runs once per full run; live panels and widget callbacks run without it.
So every `st.fragment` is declared with `guarded_fragment` and every on_click/on_change
callback with `guard_callback`: each run re-checks the session and the permission and
hands the body the user as they are now; a revoked session never reaches the body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, NoReturn, ParamSpec

import streamlit as st

from core.security.auth import Principal
from core.security.browser_sessions import SessionEnded
from core.security.clients import client_from
from ui.runtime import get_runtime
from ui.session_cookie import KEPT_KEYS, clear_cookie, cookie_token, hand_over

USER_KEY = "principal"
TOKEN_KEY = "session_token"
NOTICE_KEY = "login_notice"
REJECTED_KEY = "rejected_token"
"""A cookie token the server refused: not asked about again until the page reloads."""
P = ParamSpec("P")


def client_address() -> str | None:
    """The browser's address (None in tests): the connection's peer, or behind
    `CONCIERGE_TRUSTED_PROXIES` proxies the address they forwarded (see core.security.clients)."""
    try:
        peer, headers = st.context.ip_address, dict(st.context.headers)
    except Exception:  # noqa: BLE001 (no request context in AppTest)
        return None
    return client_from(peer if isinstance(peer, str) else None, headers,
                       trusted_proxies=get_runtime().settings.proxy_hops)


def current_user(*, touch: bool = True) -> Principal | None:
    """The logged-in user, re-checked against their server-side session on every run
    (`touch=False`: without counting as activity, for a panel refreshing itself)."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        cookie = cookie_token()
        token = cookie if cookie != st.session_state.get(REJECTED_KEY) else None
    if not token:
        return None
    try:
        user = get_runtime().accounts.browser_sessions.resume(token, touch=touch)
    except SessionEnded as ended:
        notice = st.session_state.get(NOTICE_KEY)
        if notice is None and TOKEN_KEY in st.session_state:
            notice = str(ended)  # ended while this tab was using it: say why
        _forget_everything()
        st.session_state[REJECTED_KEY] = token
        if notice:
            st.session_state[NOTICE_KEY] = notice
        if cookie_token():
            clear_cookie()
        return None
    st.session_state[USER_KEY] = user
    st.session_state[TOKEN_KEY] = token
    return user


def _forget_everything() -> None:
    """Drop everything the tab knew about its user (not the tab's own nonce)."""
    for key in list(st.session_state.keys()):
        if key not in KEPT_KEYS:
            del st.session_state[key]


def start_browser_session(user: Principal) -> None:
    """Start a session for `user` and ask the browser to keep its cookie."""
    _forget_everything()
    token = get_runtime().accounts.start_session(user, client_address())
    st.session_state[USER_KEY] = user
    st.session_state[TOKEN_KEY] = token
    hand_over(token)


def log_out() -> None:
    user = current_user()
    token = st.session_state.get(TOKEN_KEY)
    if user is not None:
        get_runtime().accounts.log_out(user, token, client_address())
    _forget_everything()
    st.session_state[NOTICE_KEY] = "You have logged out."
    st.session_state[REJECTED_KEY] = token
    clear_cookie()  # the cookie may have been set after this page loaded


def take_notice() -> str | None:
    """A message for the login page (why the last session ended), shown once."""
    return st.session_state.pop(NOTICE_KEY, None)


def _refuse(user: Principal | None) -> NoReturn:
    """The login prompt (or "not allowed" for a user without the permission), then stop."""
    if user is None:
        st.info("Please log in to continue.")
        st.markdown("[Go to the login page](/)")
    else:
        st.error("You're not allowed to see this page.")
    st.stop()


def require_permission(permission: str) -> Principal:
    user = current_user()
    if user is None or not user.can(permission):
        _refuse(user)
    return user


def _fragment_only_run() -> bool:
    """Whether this run reruns only a fragment (a timed refresh, a click inside it)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return bool(ctx and ctx.fragment_ids_this_run)


def fresh_user(permission: str, *, touch: bool = True) -> Principal | None:
    """The user as they are now, if their session is still open (not logged out, idle,
    expired or disabled) and their role still holds `permission`; else None. One indexed
    read of the session and the user row."""
    user = current_user(touch=touch)
    return user if user is not None and user.can(permission) else None


def guarded_fragment(permission: str, *, run_every: float | None = None
                     ) -> Callable[[Callable[[Principal], None]], Callable[[], None]]:
    """Declare a live panel: `@guarded_fragment("monitoring:read", run_every=5)` over
    `def panel(user): ...` makes an `st.fragment` whose every run (a timed refresh, a
    click inside it) first re-checks the session and `permission` and passes the fresh
    user. When the check fails the body does not run and the whole page reruns, so its
    guard shows the login prompt (with why the session ended) or "not allowed".

    A timed refresh does not count as activity: an open panel cannot keep an idle
    session alive past its timeout.
    """
    def decorate(body: Callable[[Principal], None]) -> Callable[[], None]:
        @functools.wraps(body)
        def run() -> None:
            user = current_user(touch=False)
            if user is None or not user.can(permission):
                if _fragment_only_run():
                    st.rerun(scope="app")  # the whole page, so its guard takes over
                _refuse(user)
            body(user)
        return st.fragment(run, run_every=run_every)
    return decorate


def guard_callback(permission: str) -> Callable[[Callable[Concatenate[Principal, P], None]],
                                                Callable[P, None]]:
    """Declare a widget callback (on_click / on_change): `@guard_callback("chat:use")` over
    `def act(user, *args): ...` re-checks the session and `permission` when the widget
    fires and calls `act(fresh_user, *args)`; when the check fails the action is refused
    (not run) and the rerun that follows shows the login prompt or "not allowed"."""
    def decorate(action: Callable[Concatenate[Principal, P], None]) -> Callable[P, None]:
        @functools.wraps(action)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            user = current_user()
            if user is not None and user.can(permission):
                action(user, *args, **kwargs)
            elif user is not None:
                st.toast("You're not allowed to do that.", icon=":material/block:")
        return run
    return decorate
def recheck_permission(permission: str, *, touch: bool = True) -> Principal | None:
    """For every `st.fragment` rerun and widget callback: the user, re-validated against
    their server-side session, while they still hold `permission`; otherwise None, and the
    caller does nothing (a fragment then calls `stop_fragment`). Timed refreshes pass
    `touch=False`: they are not activity, so an open page cannot keep an idle session alive."""
    return fresh_user(permission, touch=touch)


def stop_fragment() -> None:
    """A live fragment whose user lost the session or the permission: rerun the whole page,
    whose guard shows the login prompt or "not allowed"."""
    st.rerun(scope="app")

"""Who is logged in, and the guard every page calls first.

Streamlit serves `pages/*.py` by URL even before `st.navigation` runs, so a page must
never rely on the router: `require_permission` shows the login prompt, or "not
allowed", and stops the script before anything else renders.
"""

from __future__ import annotations

import streamlit as st

from core.auth import Principal

USER_KEY = "principal"


def current_user() -> Principal | None:
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, Principal) else None


def _forget_everything() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def log_in(user: Principal) -> None:
    _forget_everything()
    st.session_state[USER_KEY] = user


def log_out() -> None:
    _forget_everything()


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

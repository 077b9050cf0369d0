"""The login and sign-up forms."""

from __future__ import annotations

import streamlit as st

from core.config import get_settings
from core.security.auth import AuthError
from core.security.rate_limits import RateLimited
from ui.runtime import get_runtime
from ui.session import client_address, start_browser_session, take_notice


def login_page() -> None:
    st.title("Concierge")
    st.caption(f"Customer service for {get_settings().company_name}")
    notice = take_notice()
    if notice:
        st.info(notice)
    log_in_tab, sign_up_tab = st.tabs(["Log in", "Sign up"])
    with log_in_tab, st.form("login"):
        username = st.text_input("Username", max_chars=64)
        password = st.text_input("Password", type="password", max_chars=128)
        if st.form_submit_button("Log in", type="primary"):
            try:
                user = get_runtime().accounts.authenticate(username, password, client_address())
            except RateLimited as exc:
                st.error(str(exc))
                return
            if user is None:
                st.error("Wrong username or password.")
            else:
                start_browser_session(user)
                st.rerun()
    with sign_up_tab, st.form("signup"):
        new_username = st.text_input("Username", key="signup_username", max_chars=64)
        new_password = st.text_input("Password", type="password", key="signup_password",
                                     max_chars=128, help="At least 12 characters; a phrase works well.")
        confirm = st.text_input("Password again", type="password", key="signup_confirm",
                                max_chars=128)
        if st.form_submit_button("Sign up"):
            try:
                user = get_runtime().accounts.sign_up(new_username, new_password, confirm,
                                                      client_address())
            except (AuthError, RateLimited) as exc:
                st.error(str(exc))
            else:
                start_browser_session(user)
                st.rerun()

"""My account: change the password, download or delete one's conversations."""

import json

import streamlit as st

from core.security.auth import AuthError
from ui.runtime import get_runtime
from ui.session import TOKEN_KEY, client_address, require_permission

user = require_permission("account:self")
runtime = get_runtime()

st.title("My account")
st.caption(f"Logged in as {user.username} ({user.role}).")

st.subheader("Change password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", max_chars=128)
    new = st.text_input("New password", type="password", max_chars=128,
                        help="At least 12 characters; a phrase of unrelated words works well.")
    confirm = st.text_input("New password again", type="password", max_chars=128)
    if st.form_submit_button("Change password"):
        try:
            runtime.accounts.change_password(user, current, new, confirm,
                                             keep_token=st.session_state.get(TOKEN_KEY),
                                             client=client_address())
        except AuthError as exc:
            st.error(str(exc))
        else:
            st.success("Password changed. Your other sessions have been logged out.")

st.subheader("Your conversations")
st.write("Download everything you have written to us and our replies, as JSON.")
if st.button("Prepare my download", icon=":material/download:"):
    st.session_state["export"] = json.dumps(runtime.privacy.export(user, client_address()),
                                            ensure_ascii=False, indent=2)
if "export" in st.session_state:
    st.download_button("Download my conversations", st.session_state["export"],
                       file_name=f"concierge-{user.username}.json", mime="application/json",
                       type="primary")

st.write("Delete all your conversations. This cannot be undone.")
sure = st.checkbox("Yes, delete all my conversations for good", key="delete_sure")
if st.button("Delete my conversations", icon=":material/delete_forever:", disabled=not sure):
    deleted = runtime.privacy.delete_mine(user, client_address())
    st.session_state.pop("export", None)
    st.session_state.pop("conversation_id", None)
    st.success(f"Deleted {deleted} conversation{'s' if deleted != 1 else ''}.")

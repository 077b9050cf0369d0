"""Concierge's Streamlit entry point: the login gate and a role-filtered router.

Run with `streamlit run app.py`. Pages guard themselves too (see ui/session.py).
"""

from __future__ import annotations

import streamlit as st

from ui.login import login_page
from ui.runtime import warm_up_in_background
from ui.session import current_user, log_out
from ui.session_cookie import sync_cookie

st.set_page_config(page_title="Concierge", page_icon=":material/support_agent:")

PAGES = [  # (file, title, icon, permission): the router shows what the role may open
    ("pages/chat.py", "Chat", ":material/chat:", "chat:use"),
    ("pages/inbox.py", "Inbox", ":material/inbox:", "inbox:work"),
    ("pages/agent_statistics.py", "Agent statistics", ":material/monitoring:", "monitoring:read"),
    ("pages/workflow_traces.py", "Workflow traces", ":material/account_tree:", "monitoring:read"),
    ("pages/review.py", "Review", ":material/rate_review:", "monitoring:review"),
    ("pages/system_alerts.py", "System alerts", ":material/notifications:", "monitoring:read"),
    ("pages/audit_log.py", "Audit log", ":material/policy:", "audit:read"),
    ("pages/my_account.py", "My account", ":material/manage_accounts:", "account:self"),
]
WIDE_PAGES = ("pages/agent_statistics.py", "pages/workflow_traces.py", "pages/system_alerts.py",
              "pages/audit_log.py")

user = current_user()
if user is None:
    page = st.navigation([st.Page(login_page, title="Log in", icon=":material/login:")])
else:
    # Pages the role may not open stay registered but hidden, so opening their URL
    # reaches the page's own guard ("not allowed") instead of a silent redirect.
    # The first page the role may open is the start page (the inbox for agents).
    start = next((f for f, _, _, perm in PAGES if user.can(perm)), PAGES[0][0])
    pages = {f: st.Page(f, title=t, icon=i, visibility="visible" if user.can(perm) else "hidden",
                        default=f == start)
             for f, t, i, perm in PAGES}
    page = st.navigation(list(pages.values()))
    if any(page.url_path == pages[f].url_path for f in WIDE_PAGES):
        st.set_page_config(layout="wide")  # tables with many columns (traces: latency last)
    with st.sidebar:
        st.caption(f"Logged in as **{user.username}** ({user.role})")
        if st.button("Log out", icon=":material/logout:"):
            log_out()
            st.rerun()
sync_cookie()
page.run()
warm_up_in_background()

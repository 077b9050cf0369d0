"""Audit log (admins): logins, sign-ups, role changes, disables, alert actions, key
rotations and purges: who, what, when and from where."""

import streamlit as st

from core.security.audit import ACTIONS
from ui.runtime import get_runtime
from ui.session import require_permission
from ui.text import spreadsheet_safe

user = require_permission("audit:read")

st.title("Audit log")
action = st.selectbox("Action", ["All", *ACTIONS], key="audit_action")
events = get_runtime().audit.events(user, action=None if action == "All" else action)
if not events:
    st.info("No events recorded yet.")
else:
    st.dataframe(  # its toolbar downloads CSV: no cell may be a live formula
        spreadsheet_safe([{"when (UTC)": e.at, "action": e.action, "outcome": e.outcome,
                           "who": e.actor or "", "from": e.client or "",
                           "detail": e.detail or ""} for e in events]),
        hide_index=True, use_container_width=True,
    )
    st.caption(f"The newest {len(events)} events.")

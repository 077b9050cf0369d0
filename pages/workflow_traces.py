"""Workflow traces page (supervisors and admins). Its content arrives with the monitoring work."""

import streamlit as st

from ui.session import require_permission

require_permission("monitoring:read")

st.title("Workflow traces")
st.info("This page is being built: the monitoring milestone fills it in.")

"""Concierge's server: the Streamlit app (app.py) plus the session-cookie route.

Run with `streamlit run serve.py` (what `make run` does).
"""

import streamlit as st

from ui.session_routes import ROUTES

app = st.App("app.py", routes=ROUTES)

"""The one Runtime per server process (engine, trained models, database engine)."""

from __future__ import annotations

import streamlit as st

from core.runtime import Runtime

override: Runtime | None = None
"""Tests set this to run the pages against their own runtime."""


@st.cache_resource(show_spinner="Starting the assistant…")
def _server_runtime() -> Runtime:
    return Runtime.start()


def get_runtime() -> Runtime:
    return override or _server_runtime()

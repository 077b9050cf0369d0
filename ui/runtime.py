"""The one Runtime per server process (engine, trained models, database engine)."""

from __future__ import annotations

import gc
import threading
from typing import TYPE_CHECKING

import streamlit as st
from pydantic import SecretStr

if TYPE_CHECKING:
    from core.runtime import Runtime

override: Runtime | None = None
"""Tests set this to run the pages against their own runtime."""


@st.cache_resource(show_spinner="Starting the assistant…")
def _server_runtime() -> Runtime:
    from core.config import get_settings
    from core.log_setup import configure_logging
    from core.runtime import Runtime  # heavy (models, index): imported off the login path

    configure_logging()
    settings = get_settings()
    keys = _secret("CONCIERGE_ENCRYPTION_KEYS")
    if settings.encryption_keys is None and keys:
        settings = settings.model_copy(update={"encryption_keys": SecretStr(keys)})
    runtime = Runtime.start(settings)
    runtime.watch_model()  # every replica follows retrains made on any of them
    # The engine (models, index, libraries) lives as long as the process: frozen, the
    # collector's full passes no longer walk its ~200,000 objects (about 160 ms, holding
    # the GIL, so the server could not send a reply while one ran).
    gc.collect()
    gc.freeze()
    return runtime


def _secret(name: str) -> str | None:
    """A value from Streamlit secrets (`.streamlit/secrets.toml`), if there is one."""
    try:
        value = st.secrets.get(name)
    except Exception:  # noqa: BLE001 (no secrets file is the normal case)
        return None
    return value if isinstance(value, str) and value else None


def get_runtime() -> Runtime:
    return override or _server_runtime()


@st.cache_resource(show_spinner=False)
def _server_monitor() -> bool:
    runtime = _server_runtime()
    if not runtime.settings.monitor_in_app:
        return False
    runtime.start_monitor()
    return True


def start_monitor() -> None:
    """The system monitor, started once per server (not in tests with their own runtime)."""
    if override is None:
        _server_monitor()


_warming = threading.Lock()
_warmed = False


def warm_up_in_background() -> None:
    """Start loading the runtime (models, index, database) and the system monitor while the
    login form is shown."""
    global _warmed
    with _warming:
        if _warmed or override is not None:
            return
        _warmed = True
    threading.Thread(target=start_monitor, name="warm-up", daemon=True).start()

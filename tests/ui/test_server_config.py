"""The shipped Streamlit server settings that keep a chat rerun cheap.

Profiled in Chromium (see the README's figures): after every rerun Streamlit by default
runs a full garbage collection (~160 ms over the engine's objects, holding the GIL, so the
reply's last elements waited for it) and its source watcher walks the path of every
imported module on the event loop. A production server needs neither.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml"


def test_no_full_collection_and_no_source_watching_after_each_rerun() -> None:
    config = tomllib.loads(CONFIG.read_text())
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False

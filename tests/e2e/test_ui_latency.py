"""The UI latency benchmark in CI: our chat against the plainest Streamlit chat, same run.

The bounds are on ratios and generous (the README has the figures): a shared, noisy
machine slows both chats, but a rerun that redraws or re-reads the whole history again
shows up as a ratio far past them.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import _need_chromium


@pytest.mark.xfail(reason="KNOWN FAILURE, the benchmark's sync Playwright runs inside the other browser tests' asyncio loop; open (issue 19)", strict=False)
def test_chat_latency_stays_near_a_plain_streamlit_chat(model_dir, engine) -> None:
    _need_chromium()
    from benchmarks.ui_latency import measure

    result = measure(messages=6, model_dir=model_dir)
    assert result["floor_p50_ms"] > 0, result
    assert result["p50_ratio"] < 4.0, result  # target 1.5
    assert result["p95_ratio"] < 5.0, result  # target 2
    assert result["history_p50_ratio"] < 2.0, result  # 200 vs 30 messages; target 1.2

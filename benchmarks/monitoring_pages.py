"""Render time of each supervisor page with many stored turns:
`python -m benchmarks.monitoring_pages --turns 100000 --json`.

Seeds a scratch state folder with `concierge seed turns` data (turns, traces, spans,
feedback spread over a week), then renders every monitoring page as a supervisor with
Streamlit's AppTest (the server-side script run: queries, charts, tables) and reports
the first and the median of `--runs` renders per page. The baseline in the same run is
the same pages over an empty database.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_DIR, get_settings
from core.engine.engine import Engine, memory_checkpointer
from core.monitoring.seed_turns import seed_turns
from core.runtime import Runtime
from core.security.auth import Principal, add_user
from ui import runtime as ui_runtime

PAGES = {
    "agent_statistics": ("pages/agent_statistics.py", {"stats_window": "Last week"}),
    "workflow_traces": ("pages/workflow_traces.py", {"trace_since": "Last week"}),
    "system_alerts": ("pages/system_alerts.py", {}),
}


def render_times(runtime: Runtime, supervisor: Principal, runs: int) -> dict[str, dict]:
    ui_runtime.override = runtime
    found = {}
    for name, (path, state) in PAGES.items():
        seconds = []
        for _ in range(runs):
            at = AppTest.from_file(str(PROJECT_DIR / path), default_timeout=60)
            at.session_state["principal"] = supervisor
            for key, value in state.items():
                at.session_state[key] = value
            started = time.perf_counter()
            at.run()
            seconds.append(time.perf_counter() - started)
            if at.exception:
                raise RuntimeError(f"{name}: {at.exception[0].message}")
        found[name] = {"first_s": round(seconds[0], 3),
                       "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3)}
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base = get_settings()
    engine = Engine.load(base, checkpointer=memory_checkpointer())
    with tempfile.TemporaryDirectory(prefix="concierge-pages-") as scratch:
        settings = base.model_copy(update={"state_dir": Path(scratch), "database_url": None,
                                           "model_dir": base.model_cache_dir, "redis_url": None})
        runtime = Runtime.start(settings, engine=engine)
        with runtime.sessions.begin() as session:
            supervisor = Principal(add_user(session, "bench-sam", "x" * 16, "supervisor").id,
                                   "bench-sam", "supervisor")
        runtime.start_monitor().set()  # one sample for the gauges
        time.sleep(0.5)
        empty = render_times(runtime, supervisor, args.runs)
        seeded = seed_turns(runtime.sessions, args.turns)
        with runtime.db.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
        loaded = render_times(runtime, supervisor, args.runs)
        runtime.db.dispose()
    result = {"turns": args.turns, "seed_seconds": seeded["seconds"], "pages": loaded,
              "baseline_empty": empty,
              "worst_s": max(p["max_s"] for p in loaded.values())}
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

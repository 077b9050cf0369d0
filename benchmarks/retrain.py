"""A retrain with N new labels on the demo pack, and turn latency while it runs:
`python -m benchmarks.retrain --labels 1000 --json`.

Labels are BANKING77 training messages of the pack's intents (../shared/data/banking77),
imported as `concierge examples import` does. Turns are answered one after another on
the same runtime, first with nothing else running (the baseline), then while the retrain
runs on its background thread. Prints the retrain's time and outcome and both p95s.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from core.config import PROJECT_DIR, get_settings
from core.engine.engine import memory_checkpointer
from core.runtime import Runtime
from core.security.user_admin import CLI_ADMIN

BANKING77 = PROJECT_DIR.parent / "shared" / "data" / "banking77"


def _labels(intents: set[str], count: int, seed: int) -> list[tuple[str, str]]:
    with (BANKING77 / "train.csv").open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(handle)
                if r["category"] in intents]
    return random.Random(seed).sample(rows, count)


def _turns(runtime: Runtime, questions: list[str], until=None, at_least: int = 0) -> list[float]:
    user = runtime.local_user("bench")
    latencies: list[float] = []
    for i in range(10**6):
        if (until is None and i >= at_least) or (until is not None and until() and i >= at_least):
            break
        latencies.append(runtime.chat.send(user, None, questions[i % len(questions)]).latency_ms)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=100, help="baseline turns")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="reuse a model cache (default: a fresh one, so everything trains)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-retrain-"))
    settings = get_settings().model_copy(update={"state_dir": state, "database_url": None,
                                                 "redis_url": None, "model_dir": args.model_dir})
    runtime = Runtime.start(settings, checkpointer=memory_checkpointer(), rate_limit=False)
    questions = [t for t, _ in random.Random(1).sample(runtime.engine.pack.examples, 200)]
    baseline = _turns(runtime, questions, at_least=args.turns)
    rows = _labels(set(runtime.engine.pack.intents), args.labels, args.seed)
    runtime.learning.import_examples(CLI_ADMIN, rows)
    started = time.perf_counter()
    runtime.learning.request_retrain("bench")
    during = _turns(runtime, questions, until=runtime.learning.idle.is_set, at_least=1)
    wall = time.perf_counter() - started
    version = runtime.learning.versions(CLI_ADMIN, 1)[0]
    p95_base, p95_during = (float(np.percentile(x, 95)) for x in (baseline, during))
    result = {
        "labels": args.labels, "embeddings": runtime.engine.encoder is not None,
        "retrain_s": round(version.train_seconds or wall, 1), "retrain_wall_s": round(wall, 1),
        "status": version.status, "score_before": version.score_before,
        "score_after": version.score_after, "held_out": version.held_out,
        "turns_baseline": len(baseline), "turns_during": len(during),
        "p95_ms_baseline": round(p95_base, 1), "p95_ms_during": round(p95_during, 1),
        "p95_ratio": round(p95_during / p95_base, 2),
    }
    runtime.close()
    print(json.dumps(result) if args.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()

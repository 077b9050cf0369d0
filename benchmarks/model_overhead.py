"""What model-written answers add to a turn beyond the model server's own time:
`python -m benchmarks.model_overhead --turns 300 --json`.

The same questions (demo-pack examples that get an answer from an article) go through the
engine twice in one run: offline (the baseline) and with a model on a loopback
OpenAI-compatible server that answers at once, streaming its reply token by token. For
every model turn the server's own time (its handling of the request, from body read to
last byte) is subtracted, so `added_p95_ms` is what the client, the prompt, the streaming
and the checks cost: p95 of (model turn - server time) minus p95 of the offline turn.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.fake_openai import FakeOpenAI
from core.config import Settings, get_settings
from core.engine.answer_model import model_writer
from core.engine.engine import Engine, memory_checkpointer
from core.engine.workflow import compile_workflow

REPLY = ("Most cards arrive within five working days of ordering them, and you can follow "
         "the delivery in the app [1]. If it has not come after ten days, tell us [1].")


def answered_questions(engine: Engine, count: int) -> list[str]:
    """Demo-pack examples the offline engine answers from an article."""
    texts = [text for text, _ in engine.pack.examples]
    random.Random(0).shuffle(texts)
    found = []
    for text in texts:
        if engine.run_turn("probe", text)["route"] == "answer":
            found.append(text)
            if len(found) == count:
                break
    return found


def timed(engine: Engine, questions: list[str], server: FakeOpenAI | None) -> tuple[list, list]:
    """Per turn: latency (ms) and the server's own time spent on it (ms)."""
    latencies, served = [], []
    for i, question in enumerate(questions):
        before = len(server.served_ms) if server else 0
        started = time.perf_counter()
        engine.run_turn(f"bench-{i}", question, on_token=lambda token: None)
        latencies.append((time.perf_counter() - started) * 1000)
        waited = time.monotonic() + 0.05  # the server logs its time after its last byte
        while server and len(server.served_ms) == before and time.monotonic() < waited:
            time.sleep(0.001)
        served.append(sum(server.served_ms[before:]) if server else 0.0)
    return latencies, served


def p(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def run(turns: int) -> dict:
    with tempfile.TemporaryDirectory() as state, FakeOpenAI() as server:
        server.reply = lambda request: REPLY
        settings = Settings(state_dir=Path(state), model_dir=get_settings().model_cache_dir,
                            llm_model="bench-model", openai_base_url=server.base_url)
        offline = Engine.load(settings.model_copy(update={"llm_model": None}),
                              checkpointer=memory_checkpointer())
        agents = replace(offline.agents, model=model_writer(settings))
        with_model = Engine(offline.pack, agents, compile_workflow(agents, memory_checkpointer()),
                            0.0)
        questions = answered_questions(offline, turns)
        timed(offline, questions[:20], None)  # warm-up: caches, connections, imports
        timed(with_model, questions[:20], server)
        base, _ = timed(offline, questions, None)
        model, served = timed(with_model, questions, server)
        beyond = [m - s for m, s in zip(model, served)]
        return {
            "turns": len(questions),
            "offline_p50_ms": p(base, 50), "offline_p95_ms": p(base, 95),
            "model_p50_ms": p(model, 50), "model_p95_ms": p(model, 95),
            "server_p95_ms": p(served, 95),
            "beyond_server_p95_ms": p(beyond, 95),
            "added_p95_ms": round(p(beyond, 95) - p(base, 95), 2),
            "target_added_p95_ms": 15.0,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.turns)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()

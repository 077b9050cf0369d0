"""`concierge bench handoff`: pairs of customers and agents at once, every message checked."""

from __future__ import annotations

from core.cli import bench_handoff as bench
from core.runtime import Runtime


def test_pairs_exchange_every_message_once_in_order(settings, engine) -> None:
    result = bench.bench_handoff(settings, pairs=4, messages=5)
    assert result["sent"] == 40 and result["timeouts"] == 0, result
    assert (result["lost"], result["duplicated"], result["misdelivered"],
            result["out_of_order"]) == (0, 0, 0, 0), result
    assert 0 < result["to_agent_p50_ms"] <= result["to_agent_p95_ms"] < 2000, result


def test_the_check_counts_lost_duplicated_and_misdelivered_messages(settings, engine) -> None:
    runtime = Runtime.start(settings, rate_limit=False, engine=engine)
    try:
        (alice, max_), (bob, mia) = bench._people(runtime, 2, "check")
        ours, theirs = (bench._handed_over(runtime, alice, max_),
                        bench._handed_over(runtime, bob, mia))
        runtime.chat.send(alice, ours, "[run:0] customer 0")
        runtime.chat.send(alice, ours, "[run:0] customer 0")  # twice
        runtime.handoff.reply(max_, ours, "[run:1] agent 0")  # meant for the other pair
        runtime.chat.send(bob, theirs, "[run:1] customer 0")
        found = bench._check(runtime, alice, max_, ours, "run:0", 1, "run")
    finally:
        runtime.close()
    # each side: the agent's reply lost, the question twice, the other pair's text here
    assert found == {"lost": 2, "duplicated": 2, "misdelivered": 2, "out_of_order": 0}

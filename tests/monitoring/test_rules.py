"""Alert rules: N consecutive breaches to fire, hysteresis to resolve, no flapping."""

from __future__ import annotations

import pytest

from core.monitoring.rules import RULES_BY_NAME, RuleState, evaluate

CPU = RULES_BY_NAME["cpu_high"]  # threshold 80, clears below 72


def run(values: list[float | None], consecutive: int = 3) -> list[str | None]:
    state, seen = RuleState(), []
    for value in values:
        state, transition = evaluate(CPU, value, state, consecutive)
        seen.append(transition)
    return seen


def test_fires_only_after_n_consecutive_breaches() -> None:
    assert run([90, 90, 90]) == [None, None, "fire"]


def test_a_single_spike_does_not_fire() -> None:
    assert run([95, 50, 95, 50, 95, 50]) == [None] * 6


def test_breaches_must_be_consecutive() -> None:
    assert run([90, 90, 70, 90, 90, 90]) == [None, None, None, None, None, "fire"]


def test_resolves_only_below_the_hysteresis_band() -> None:
    # 75 is under the threshold but inside the band (72-80): the alert stays open.
    assert run([90, 90, 90, 75, 75, 75, 75]) == [None, None, "fire", None, None, None, None]
    assert run([90, 90, 90, 70, 70, 70]) == [None, None, "fire", None, None, "resolve"]


def test_one_dip_does_not_resolve() -> None:
    assert run([90, 90, 90, 70, 90, 70, 70, 90]) == [None, None, "fire"] + [None] * 5


def test_no_reading_counts_as_clear() -> None:
    assert run([90, 90, 90, None, None, None]) == [None, None, "fire", None, None, "resolve"]


@pytest.mark.parametrize("consecutive", [1, 2, 5])
def test_consecutive_is_configurable(consecutive: int) -> None:
    assert run([90] * consecutive, consecutive)[-1] == "fire"
    assert "fire" not in run([90] * (consecutive - 1), consecutive)

"""Alert rules and their evaluation: pure, so firing and resolving are easy to test.

A rule breaches when its reading is above the threshold. It fires only after
`consecutive` breaches in a row, and once firing it resolves only after `consecutive`
readings below `threshold × clear_ratio` (hysteresis): a reading between the two keeps
things as they are, so one spike or one dip does not flap the alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

Transition = Literal["fire", "resolve"]


@dataclass(frozen=True)
class AlertRule:
    name: str
    title: str
    metric: str
    threshold: float
    severity: Literal["info", "warning", "critical"]
    unit: str
    scope: Literal["host", "application"]
    clear_ratio: float = 0.9

    def message(self, value: float) -> str:
        if not self.unit:  # a yes/no condition
            return self.title
        return f"{self.title} is {value:.1f} {self.unit} (threshold {self.threshold:g} {self.unit})"


DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule("cpu_high", "CPU usage", "cpu_percent", 80, "warning", "%", "host"),
    AlertRule("memory_high", "Memory usage", "memory_percent", 85, "warning", "%", "host"),
    AlertRule("disk_high", "Disk usage", "disk_percent", 90, "critical", "%", "host"),
    AlertRule("error_rate_high", "Turn error rate", "error_rate", 5, "critical", "%",
              "application"),
    AlertRule("latency_high", "p95 turn latency", "p95_latency_ms", 2000, "warning", "ms",
              "application"),
    AlertRule("out_of_scope_spike", "Out-of-scope rate", "out_of_scope_rate", 35, "warning", "%",
              "application"),
    AlertRule("handoff_spike", "Hand-off rate", "handoff_rate", 20, "warning", "%",
              "application"),
    AlertRule("negative_feedback_high", "Negative feedback share", "negative_feedback_share",
              40, "warning", "%", "application"),
    AlertRule("failed_logins_burst", "Failed logins in 5 minutes", "failed_logins", 10,
              "critical", "logins", "application"),
    AlertRule("model_paused", "Answer model paused after repeated failures (answers are "
              "written offline)", "model_paused", 0.5, "warning", "", "application"),
    AlertRule("model_fallbacks_high", "Answers falling back to offline", "model_fallback_rate",
              20, "warning", "%", "application"),
    AlertRule("redis_down", "Redis unreachable (running on in-process fallbacks)", "redis_down",
              0.5, "critical", "", "application"),
    AlertRule("customer_waiting_long", "Longest wait for a person (agent hours)",
              "longest_wait_min", 5, "warning", "min", "application"),
    AlertRule("queue_unattended", "Customers are waiting for a person and no agent holds or "
              "takes conversations (agent hours)", "queue_unattended", 0.5, "critical", "",
              "application"),
)
RULES_BY_NAME = {rule.name: rule for rule in DEFAULT_RULES}


@dataclass(frozen=True)
class RuleState:
    """Consecutive breaches (while quiet) or clear readings (while firing)."""

    firing: bool = False
    breaches: int = 0
    clears: int = 0


def evaluate(rule: AlertRule, value: float | None, state: RuleState, consecutive: int
             ) -> tuple[RuleState, Transition | None]:
    """The rule's next state after one reading, and whether it fires or resolves now.

    No reading (None: e.g. no turns to take a rate of) counts as clear.
    """
    breach = value is not None and value > rule.threshold
    clear = value is None or value < rule.threshold * rule.clear_ratio
    if not state.firing:
        breaches = state.breaches + 1 if breach else 0
        if breaches >= consecutive:
            return RuleState(firing=True), "fire"
        return replace(state, breaches=breaches, clears=0), None
    clears = state.clears + 1 if clear else 0
    if clears >= consecutive:
        return RuleState(firing=False), "resolve"
    return replace(state, clears=clears, breaches=0), None

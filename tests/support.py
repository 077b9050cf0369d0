"""Helpers the test modules share: the CI flag, "fail under CI, skip locally", a free port.

Under CI (`CI=true`, which `.ci/run` sets) nothing may silently stop being tested, so a
missing service, browser or extra is a failure there and a skip with its reason locally.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Stop this test for a missing prerequisite: a failure under CI, a skip locally."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must have it)")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (free when asked)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout_s: float = 10.0,
               what: str = "the condition") -> None:
    """Poll `condition` until it is true; fail the test after `timeout_s` (never a fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.02)

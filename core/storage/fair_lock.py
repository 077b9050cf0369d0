"""FairLock: a mutex that serves waiting threads in the order they came.

`threading.Lock`, and SQLAlchemy's pool queue, let the thread that just released take the
lock straight back while the threads it woke are still waiting for the GIL. On the single
SQLite connection that starves turns waiting to store their reply behind threads storing
their next question: the largest part of the engine bench's p95. Here a release hands the
lock to the longest-waiting thread directly, so nobody can jump the queue.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Self


class FairLock:
    """A first-come, first-served mutex; use it as a context manager."""

    def __init__(self, timeout_s: float = 60.0):
        self.timeout_s = timeout_s
        """How long `acquire` waits before raising TimeoutError."""
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()
        self.waited_s = 0.0
        """Time threads have spent queued for the lock, added up (for the bench report)."""

    @property
    def waiting(self) -> int:
        """How many threads are queued for the lock."""
        with self._mutex:
            return len(self._waiting)

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiting.append(turn)
        started = time.perf_counter()
        handed = turn.wait(self.timeout_s)
        with self._mutex:
            self.waited_s += time.perf_counter() - started
            if handed or turn.is_set():  # is_set: handed over just as the wait gave up
                return
            self._waiting.remove(turn)
        raise TimeoutError(f"waited over {self.timeout_s:g} s for the database")

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of a FairLock that is not held")
            if self._waiting:
                self._waiting.popleft().set()  # stays held: handed to the next in line
            else:
                self._held = False

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

"""FairLock serves threads in arrival order, and turn writes use one per SQLite database."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine

from core.storage.database import turn_writes
from core.storage.fair_lock import FairLock


def _queue_up(lock: FairLock, name: str, order: list[str]) -> threading.Thread:
    """Start a thread that takes the lock, notes its name and lets go; return once queued."""
    queued = lock.waiting

    def take() -> None:
        with lock:
            order.append(name)

    thread = threading.Thread(target=take)
    thread.start()
    deadline = time.monotonic() + 5
    while lock.waiting == queued and time.monotonic() < deadline:
        time.sleep(0.001)
    assert lock.waiting == queued + 1, f"{name} never queued"
    return thread


def test_waiters_get_the_lock_in_the_order_they_came() -> None:
    lock, order = FairLock(), []
    lock.acquire()
    threads = [_queue_up(lock, f"t{i}", order) for i in range(5)]
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == ["t0", "t1", "t2", "t3", "t4"]
    assert lock.waiting == 0


def test_time_spent_queued_is_added_up() -> None:
    lock = FairLock()
    with lock:
        pass
    assert lock.waited_s == 0.0  # nobody waited
    lock.acquire()
    waiter = _queue_up(lock, "waiter", [])
    time.sleep(0.05)
    lock.release()
    waiter.join(5)
    assert 0.04 <= lock.waited_s < 5


def test_a_thread_that_lets_go_cannot_take_it_straight_back() -> None:
    lock, order = FairLock(), []
    lock.acquire()
    waiter = _queue_up(lock, "waiter", order)
    lock.release()
    with lock:  # a plain Lock usually lets this thread win the race
        order.append("releaser")
    waiter.join(5)
    assert order == ["waiter", "releaser"]


def test_a_wait_that_times_out_raises_and_leaves_the_lock_usable() -> None:
    lock = FairLock(timeout_s=0.05)
    lock.acquire()
    failures: list[Exception] = []

    def impatient() -> None:
        try:
            lock.acquire()
        except TimeoutError as exc:
            failures.append(exc)

    thread = threading.Thread(target=impatient)
    thread.start()
    thread.join(5)
    assert len(failures) == 1 and lock.waiting == 0
    lock.release()
    with lock:  # free again, not handed to the thread that gave up
        pass
    with pytest.raises(RuntimeError):
        lock.release()


def test_turn_writes_queue_fairly_on_sqlite_only(tmp_path) -> None:
    sqlite = create_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert isinstance(turn_writes(sqlite), FairLock)
    assert turn_writes(sqlite) is turn_writes(sqlite)  # one queue per database
    postgres = create_engine("postgresql+psycopg://nobody@127.0.0.1/none")  # never connects
    assert not isinstance(turn_writes(postgres), FairLock)

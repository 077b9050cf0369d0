"""One shared Redis connection that fails soft.

When `REDIS_URL` is set, rate limits, the monitor's leader lock, the event bus and the
answer cache use Redis. When Redis stops answering, `RedisLink` reports it down and
callers use their in-process fallback; after `retry_s` the next call tries Redis again,
so the app returns to it without a restart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import redis

T = TypeVar("T")


class RedisLink:
    def __init__(self, url: str | None, *, retry_s: float = 2.0, timeout_s: float = 0.5):
        self.url = url
        self.retry_s = retry_s
        self._client: Any = None
        self._errors: tuple[type[BaseException], ...] = (OSError,)
        if url:  # imported only when used: the redis package costs a process ~18 MB
            import redis

            self._client = redis.Redis.from_url(url, socket_timeout=timeout_s,
                                                socket_connect_timeout=timeout_s)
            self._errors = (redis.RedisError, OSError)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self.failures = 0

    @property
    def configured(self) -> bool:
        return self._client is not None

    @property
    def up(self) -> bool:
        """Configured and not known to be down (a ping decides after a failure)."""
        if self._client is None:
            return False
        if time.monotonic() < self._down_until:
            return False
        return self.call(lambda r: bool(r.ping()), lambda: False)

    def call(self, action: Callable[[redis.Redis], T], fallback: Callable[[], T]) -> T:
        """`action(client)`, or `fallback()` when Redis is absent, down or fails now."""
        client = self._client
        if client is None or time.monotonic() < self._down_until:
            return fallback()
        try:
            return action(client)
        except self._errors:
            self.mark_down()
            return fallback()

    def mark_down(self) -> None:
        with self._lock:
            self.failures += 1
            self._down_until = time.monotonic() + self.retry_s

    @property
    def client(self) -> redis.Redis | None:
        return self._client

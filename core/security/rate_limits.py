"""Rate limits with the `limits` library: chat messages per user, failed logins per account
and per client.

In memory on the embedded default; shared through Redis when `REDIS_URL` is set, so
every replica counts the same hits. If Redis stops answering, counting continues in
memory until it is back (a short gap in sharing beats refusing every customer).
"""

from __future__ import annotations

import math
import time
from typing import Any

from core.redis_link import RedisLink


class RateLimited(Exception):
    """Too many requests; the text says when to try again."""


class _Limiter:
    """A moving-window limiter on Redis (through `link`) with an in-memory fallback."""

    def __init__(self, link: RedisLink | None):
        from limits import storage, strategies  # ~12 MB: loaded when a limit is used

        self.link = link
        self.memory = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        self.shared = (strategies.MovingWindowRateLimiter(storage.storage_from_string(
            link.url, socket_timeout=0.5, socket_connect_timeout=0.5))
            if link is not None and link.url else None)

    def _run(self, method: str, *args: object) -> object:
        memory = getattr(self.memory, method)
        if self.shared is None or self.link is None:
            return memory(*args)
        shared = getattr(self.shared, method)
        return self.link.call(lambda _: shared(*args), lambda: memory(*args))

    def hit(self, item: Any, *ids: str) -> bool:
        return bool(self._run("hit", item, *ids))

    def test(self, item: Any, *ids: str) -> bool:
        return bool(self._run("test", item, *ids))

    def reset_time(self, item: Any, *ids: str) -> float:
        return self._run("get_window_stats", item, *ids).reset_time  # type: ignore[union-attr]

    def clear(self, item: Any, *ids: str) -> None:
        self._run("clear", item, *ids)


class ChatRateLimiter:
    """A moving-window limit such as `30/minute` on each user's chat messages."""

    def __init__(self, rate: str, link: RedisLink | None = None):
        from limits import parse

        self.rate = parse(rate)
        self._limiter = _Limiter(link)

    def check(self, user_id: int) -> None:
        if not self._limiter.hit(self.rate, "chat", str(user_id)):
            raise RateLimited(
                "You're sending messages faster than we can answer them. "
                "Please wait a moment and try again."
            )


class LoginThrottle:
    """After `rate` failed logins (e.g. 5 per 15 minutes) for an account or from a client,
    further attempts wait until the oldest failure leaves the window.

    Nothing locks an account for good: the wait ends on its own, so an attacker cannot
    keep a customer out for longer than the window after they stop.
    """

    def __init__(self, rate: str, link: RedisLink | None = None):
        from limits import parse

        self.rate = parse(rate)
        self._limiter = _Limiter(link)

    def _keys(self, username: str, client: str | None) -> list[tuple[str, str]]:
        keys = [("login-account", username.strip().lower()[:64])]
        if client:
            keys.append(("login-client", client))
        return keys

    def check(self, username: str, client: str | None) -> None:
        """Raise RateLimited (saying how long to wait) while the account or client is throttled."""
        waits = [self._limiter.reset_time(self.rate, *key) - time.time()
                 for key in self._keys(username, client)
                 if not self._limiter.test(self.rate, *key)]
        if waits:
            minutes = max(1, math.ceil(max(waits) / 60))
            raise RateLimited(
                "Too many failed attempts. For your security, logging in is paused for about "
                f"{minutes} minute{'s' if minutes != 1 else ''}; please try again then."
            )

    def failed(self, username: str, client: str | None) -> None:
        for key in self._keys(username, client):
            self._limiter.hit(self.rate, *key)

    def succeeded(self, username: str) -> None:
        """A correct password clears the account's count (the client's stays)."""
        self._limiter.clear(self.rate, *self._keys(username, None)[0])

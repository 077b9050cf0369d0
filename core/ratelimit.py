"""Rate limits with the `limits` library: chat messages per user, failed logins per account
and per client.

In memory on the embedded default; shared through Redis when `REDIS_URL` is set, so
every replica counts the same hits.
"""

from __future__ import annotations

import math
import time

from limits import parse, storage, strategies


class RateLimited(Exception):
    """Too many requests; the text says when to try again."""


def limiter(storage_uri: str | None) -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri or "memory://"))


class ChatRateLimiter:
    """A moving-window limit such as `30/minute` on each user's chat messages."""

    def __init__(self, rate: str, storage_uri: str | None = None):
        self.rate = parse(rate)
        self._limiter = limiter(storage_uri)

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

    def __init__(self, rate: str, storage_uri: str | None = None):
        self.rate = parse(rate)
        self._limiter = limiter(storage_uri)

    def _keys(self, username: str, client: str | None) -> list[tuple[str, str]]:
        keys = [("login-account", username.strip().lower()[:64])]
        if client:
            keys.append(("login-client", client))
        return keys

    def check(self, username: str, client: str | None) -> None:
        """Raise RateLimited (saying how long to wait) while the account or client is throttled."""
        waits = [self._limiter.get_window_stats(self.rate, *key).reset_time - time.time()
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

"""Per-user rate limits with the `limits` library.

In memory on the embedded default; shared through Redis when `REDIS_URL` is set, so
every replica counts the same hits.
"""

from __future__ import annotations

from limits import parse, storage, strategies


class RateLimited(Exception):
    """Too many requests; the text says when to try again."""


class ChatRateLimiter:
    """A moving-window limit such as `30/minute` on each user's chat messages."""

    def __init__(self, rate: str, storage_uri: str | None = None):
        self.rate = parse(rate)
        self._limiter = strategies.MovingWindowRateLimiter(
            storage.storage_from_string(storage_uri or "memory://")
        )

    def check(self, user_id: int) -> None:
        if not self._limiter.hit(self.rate, "chat", str(user_id)):
            raise RateLimited(
                "You're sending messages faster than we can answer them. "
                "Please wait a moment and try again."
            )

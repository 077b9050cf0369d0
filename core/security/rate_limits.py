"""Rate limits with the `limits` library: per-user limits on chat messages, new
conversations and hand-off requests; login attempts per account and per client; sign-ups
per client.

Every attempt is counted *before* the work it guards (a password check, a sign-up), with
the limiter's atomic `hit`, so N parallel attempts cannot get N tries. In memory on the
embedded default; shared through Redis when `REDIS_URL` is set, so every replica counts
the same hits. If Redis stops answering, counting continues in memory until it is back
(a short gap in sharing beats refusing every customer).
"""

from __future__ import annotations

import math
import time
from typing import Any

from core.redis_link import RedisLink

UNKNOWN_CLIENT = "local"
"""What `client_from` says when it cannot tell clients apart (e.g. behind a same-host
proxy without `CONCIERGE_TRUSTED_PROXIES`): never one shared login bucket."""


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

    def wait_s(self, item: Any, *ids: str) -> float:
        """Seconds until the oldest hit leaves the window."""
        stats = self._run("get_window_stats", item, *ids)
        return max(0.0, stats.reset_time - time.time())  # type: ignore[union-attr]

    def clear(self, item: Any, *ids: str) -> None:
        self._run("clear", item, *ids)

    def take(self, keys: list[tuple[Any, str, str]]) -> float | None:
        """Count one attempt on every key; None when all had room, else the longest wait
        (in seconds) among the full keys. A refused attempt is not counted, except when a
        parallel one filled a key between the test and the (atomic) hit."""
        full = [key for key in keys if not self.test(*key)]
        if not full:
            full = [key for key in keys if not self.hit(*key)]
        return max(self.wait_s(*key) for key in full) if full else None


def _minutes(wait_s: float) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


_USER_LIMITS = {  # action -> what the customer is told when over its limit
    "chat": "You're sending messages faster than we can answer them. "
            "Please wait a moment and try again.",
    "conversation": "You're starting conversations very quickly. Please wait a moment, "
                    "or carry on in one of your conversations.",
    "handoff": "We've already asked our team to join; please wait for them "
               "(you can ask again in about {wait}).",
}


class ChatRateLimiter:
    """Moving-window limits on each user's chat turns (`rate`, e.g. `30/minute`; "Answer it
    now" counts as a turn), new conversations and "Talk to a person" requests."""

    def __init__(self, rate: str, link: RedisLink | None = None, *,
                 conversations: str = "10/minute", handoffs: str = "5 per 10 minutes"):
        from limits import parse

        self.rates = {"chat": parse(rate), "conversation": parse(conversations),
                      "handoff": parse(handoffs)}
        self._limiter = _Limiter(link)

    def check(self, user_id: int, action: str = "chat") -> None:
        """Count one `action` (chat, conversation or handoff); RateLimited when over."""
        wait = self._limiter.take([(self.rates[action], action, str(user_id))])
        if wait is not None:
            raise RateLimited(_USER_LIMITS[action].format(wait=_minutes(wait)))


class LoginThrottle:
    """At most `rate` login attempts (e.g. 5 per 15 minutes) for an account, and
    `client_rate` from one client address; further attempts wait until the oldest leaves
    the window. Each attempt is counted before its password is checked; a correct password
    clears the account's count (the client's stays, so an attacker's own account cannot
    reset the count of their guesses on others).

    A client that cannot be told apart from others (`UNKNOWN_CLIENT`) gets no client bucket
    at all (one shared bucket would let anyone pause everyone's logins): the account's
    limit still applies. Nothing locks an account for good: the wait ends on its own.
    """

    def __init__(self, rate: str, link: RedisLink | None = None, *, client_rate: str | None = None):
        from limits import parse

        self.rate = parse(rate)
        self.client_rate = parse(client_rate or rate)
        self._limiter = _Limiter(link)

    def _keys(self, username: str, client: str | None) -> list[tuple[Any, str, str]]:
        keys = [(self.rate, "login-account", username.strip().lower()[:64])]
        if client and client != UNKNOWN_CLIENT:
            keys.append((self.client_rate, "login-client", client[:64]))
        return keys

    def attempt(self, username: str, client: str | None) -> None:
        """Count an attempt before the password is checked; RateLimited (saying how long to
        wait) while the account or client is over its limit."""
        wait = self._limiter.take(self._keys(username, client))
        if wait is not None:
            raise RateLimited(
                "Too many failed attempts. For your security, logging in is paused for about "
                f"{_minutes(wait)}; please try again then."
            )

    def succeeded(self, username: str) -> None:
        """A correct password clears the account's count (the client's stays)."""
        self._limiter.clear(*self._keys(username, None)[0])


class SignUpThrottle:
    """At most `rate` sign-ups (e.g. 10 per hour) from one client, counted before the
    form is checked (so it also slows the probing of which usernames are taken). Clients
    that cannot be told apart share one bucket here: at worst sign-ups pause, never logins."""

    def __init__(self, rate: str, link: RedisLink | None = None):
        from limits import parse

        self.rate = parse(rate)
        self._limiter = _Limiter(link)

    def attempt(self, client: str | None) -> None:
        wait = self._limiter.take([(self.rate, "sign-up", (client or UNKNOWN_CLIENT)[:64])])
        if wait is not None:
            raise RateLimited("Too many sign-ups from your network just now. Please try again "
                              f"in about {_minutes(wait)}.")

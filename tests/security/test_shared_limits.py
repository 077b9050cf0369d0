"""With REDIS_URL, login throttling and chat limits are shared by every app process."""

from __future__ import annotations

import uuid

import pytest

from core.redis_link import RedisLink
from core.security.rate_limits import ChatRateLimiter, LoginThrottle, RateLimited


def test_login_attempts_on_one_replica_throttle_the_other(redis_url) -> None:
    first = LoginThrottle("5 per 15 minutes", RedisLink(redis_url))
    second = LoginThrottle("5 per 15 minutes", RedisLink(redis_url))
    name = f"user-{uuid.uuid4().hex[:8]}"
    for _ in range(5):
        first.attempt(name, None)
    with pytest.raises(RateLimited, match="about 15 minutes"):
        second.attempt(name, None)
    LoginThrottle("5 per 15 minutes").attempt(name, None)  # in-memory: a separate count


def test_chat_limit_is_counted_across_replicas(redis_url) -> None:
    user_id = uuid.uuid4().int % 10**9
    first = ChatRateLimiter("3/minute", RedisLink(redis_url))
    second = ChatRateLimiter("3/minute", RedisLink(redis_url))
    first.check(user_id)
    second.check(user_id)
    first.check(user_id)
    with pytest.raises(RateLimited):
        second.check(user_id)


def test_an_unreachable_redis_falls_back_to_counting_in_memory() -> None:
    link = RedisLink("redis://127.0.0.1:1/0", retry_s=60)  # nothing listens on port 1
    limiter = ChatRateLimiter("2/minute", link)
    limiter.check(7)
    limiter.check(7)
    with pytest.raises(RateLimited):
        limiter.check(7)
    assert link.failures >= 1 and not link.up

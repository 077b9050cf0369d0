"""With REDIS_URL, login throttling and chat limits are shared by every app process."""

from __future__ import annotations

import uuid

import pytest

from core.ratelimit import ChatRateLimiter, LoginThrottle, RateLimited


def test_failed_logins_on_one_replica_throttle_the_other(redis_url) -> None:
    first, second = LoginThrottle("5 per 15 minutes", redis_url), LoginThrottle("5 per 15 minutes", redis_url)
    name = f"user-{uuid.uuid4().hex[:8]}"
    for _ in range(5):
        first.check(name, None)
        first.failed(name, None)
    with pytest.raises(RateLimited, match="about 15 minutes"):
        second.check(name, None)
    LoginThrottle("5 per 15 minutes").check(name, None)  # in-memory: a separate count


def test_chat_limit_is_counted_across_replicas(redis_url) -> None:
    user_id = uuid.uuid4().int % 10**9
    first, second = ChatRateLimiter("3/minute", redis_url), ChatRateLimiter("3/minute", redis_url)
    first.check(user_id)
    second.check(user_id)
    first.check(user_id)
    with pytest.raises(RateLimited):
        second.check(user_id)

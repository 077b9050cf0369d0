"""A short-lived cache of the intent and retrieval agents' work, shared through Redis.

A repeated identical question (with the same conversation context: the cache key hashes
the node's whole input) skips classification and retrieval. Values are encrypted like
everything else that holds customer text. If Redis stops answering, the cache quietly
does nothing until it is back: a miss costs milliseconds, an error would cost a turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.cache.base import BaseCache, FullKey, Namespace
from langgraph.cache.redis import RedisCache

from core.redis_link import RedisLink

CACHED_NODES = ("classify_intent", "retrieve_passages")


class SharedAnswerCache(BaseCache):
    def __init__(self, link: RedisLink, serde: Any):
        super().__init__(serde=serde)
        self.link = link
        self.redis = RedisCache(link.client, serde=serde, prefix="concierge:cache:")

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        return self.link.call(lambda _: self.redis.get(keys), dict)

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        self.link.call(lambda _: self.redis.set(pairs), lambda: None)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.link.call(lambda _: self.redis.clear(namespaces), lambda: None)

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        return self.get(keys)

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        self.set(pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.clear(namespaces)

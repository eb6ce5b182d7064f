"""A Redis cache that a dead or unreachable Redis turns into an empty cache, not into errors.

Everything kept in the cache can be made again (pages, rendered Markdown,
rate-limit counters), so while Redis is away the site answers from the
database: reads miss, writes are dropped. After a failure the server is left
alone for a few seconds, so that requests do not each wait for a connection
that is not coming; short socket timeouts (settings) bound the first wait.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# How long to leave Redis alone after it failed, in seconds.
BACK_OFF = 5.0


class ResilientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._down_until = 0.0

    def _guarded(self, name: str, fallback: Any, *args: Any) -> Any:
        if time.monotonic() < self._down_until:
            return fallback
        try:
            return getattr(super(), name)(*args)
        except (RedisConnectionError, RedisTimeoutError) as error:
            self._down_until = time.monotonic() + BACK_OFF
            logger.warning("Cache unavailable (%s); serving without it for %ss.", error, BACK_OFF)
            return fallback

    def add(self, key, value, timeout):
        return self._guarded("add", False, key, value, timeout)

    def get(self, key, default):
        return self._guarded("get", default, key, default)

    def set(self, key, value, timeout):
        return self._guarded("set", None, key, value, timeout)

    def touch(self, key, timeout):
        return self._guarded("touch", False, key, timeout)

    def delete(self, key):
        return self._guarded("delete", False, key)

    def get_many(self, keys):
        return self._guarded("get_many", {}, keys)

    def has_key(self, key):
        return self._guarded("has_key", False, key)

    def incr(self, key, delta):
        # A counter that cannot be read is as good as a new one.
        return self._guarded("incr", delta, key, delta)

    def set_many(self, data, timeout):
        return self._guarded("set_many", None, data, timeout)

    def delete_many(self, keys):
        return self._guarded("delete_many", None, keys)

    def clear(self):
        return self._guarded("clear", False)


class ResilientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self._class = ResilientRedisCacheClient

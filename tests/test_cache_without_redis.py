"""The shared cache with its Redis gone: reads miss, writes are dropped, nothing raises or hangs."""

from __future__ import annotations

import time

import pytest

from config.cache import ResilientRedisCache
from tests.processes import OwnRedis

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_server(tmp_path):
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


def cache_at(url: str) -> ResilientRedisCache:
    return ResilientRedisCache(
        url,
        {"KEY_PREFIX": "t", "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}},
    )


def test_the_cache_works_while_redis_is_up(redis_server):
    cache = cache_at(redis_server.url)

    cache.set("page", "<p>cached</p>", 60)
    cache.set_many({"a": 1, "b": 2}, 60)

    assert cache.get("page") == "<p>cached</p>"
    assert cache.get_many(["a", "b", "c"]) == {"a": 1, "b": 2}
    assert cache.incr("a") == 2


def test_with_redis_stopped_every_operation_misses_quickly_and_none_raises(redis_server):
    cache = cache_at(redis_server.url)
    cache.set("page", "<p>cached</p>", 60)
    redis_server.stop()

    started = time.monotonic()
    assert cache.get("page") is None
    assert cache.get("page", "default") == "default"
    assert cache.get_many(["page"]) == {}
    assert cache.add("page", "x", 60) is False
    cache.set("page", "x", 60)
    cache.set_many({"page": "x"}, 60)
    cache.delete("page")
    cache.delete_many(["page"])
    assert cache.has_key("page") is False
    assert cache.get_or_set("version", lambda: 7) == 7
    assert time.monotonic() - started < 2


def test_the_cache_comes_back_with_redis(redis_server, monkeypatch):
    monkeypatch.setattr("config.cache.BACK_OFF", 0.1)
    cache = cache_at(redis_server.url)
    redis_server.stop()
    assert cache.get("page") is None

    redis_server.start()
    time.sleep(0.2)
    cache.set("page", "<p>again</p>", 60)

    assert cache.get("page") == "<p>again</p>"

"""The cache backend that survives Redis going away (config/cache.py) and the
circuit breaker behind it (config/breaker.py), on a private Redis this test may
stop, freeze (SIGSTOP: connections accepted, nothing answered) and restart. The
site-level behaviour is tests/deploy/test_redis_down.py's."""

import logging
import signal
import time
from datetime import timedelta

import pytest
import time_machine

from config.breaker import Attempt, CircuitBreaker
from config.cache import FallbackRedisCache
from tests.support.processes import free_port

RETRY = 5.0  # REDIS_RETRY_SECONDS, as the tests below set it


@pytest.fixture
def clock():
    with time_machine.travel(time.time(), tick=True) as traveller:
        yield traveller


@pytest.fixture
def make_cache(settings):
    settings.REDIS_RETRY_SECONDS = RETRY

    def make(url: str) -> FallbackRedisCache:
        options = {"socket_connect_timeout": 0.05, "socket_timeout": 0.2}
        return FallbackRedisCache(url, {"OPTIONS": options})

    return make


def test_redis_stopped_the_cache_answers_from_memory_fast_and_stops_trying(
    private_redis, make_cache, clock, caplog
):
    cache = make_cache(private_redis.url(1))
    cache.set("count:1", 41)
    assert private_redis.client(1).dbsize() == 1  # in Redis while it runs

    private_redis.stop()
    started = time.monotonic()
    assert cache.get("count:1") is None  # a miss: the caller recomputes
    cache.set("count:1", 41)
    assert cache.incr("count:1") == 42
    assert cache.add("limit:ip", 1, 300) is True
    assert cache.add("limit:ip", 1, 300) is False
    assert cache.get_many(["count:1", "limit:ip"]) == {"count:1": 42, "limit:ip": 1}
    with pytest.raises(ValueError):
        cache.incr("never-set")  # as Redis would: callers rely on it
    assert time.monotonic() - started < 0.5
    assert cache.reachable() is False

    # Back, but this process does not look until its retry interval has passed.
    private_redis.start()
    cache.set("count:1", 7)
    assert cache.get("count:1") == 7 and private_redis.client(1).dbsize() == 0
    clock.shift(timedelta(seconds=RETRY + 1))
    assert cache.get("count:1") is None  # Redis again (emptied by the restart)
    cache.set("count:1", 8)
    assert private_redis.client(1).dbsize() == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert [w.split(" (ConnectionError")[0] for w in warnings] == [
        "Cache (Redis) unreachable",
        "Cache (Redis) reachable again",
    ]


def test_a_frozen_redis_times_out_and_what_changed_meanwhile_is_not_served_stale(
    private_redis, make_cache, clock
):
    """SIGSTOP: the kernel still accepts connections but Redis answers nothing
    (a hung server, a network partition). Keys this process changed while it could
    not reach Redis are dropped there before Redis is used again: an invalidation
    made during the outage (an admin edit) is not undone by the recovery."""
    cache = make_cache(private_redis.url(1))
    cache.set("page:campaign", "before the edit")
    cache.set("page:other", "unchanged")
    private_redis.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert cache.get("page:other") is None  # waits out socket_timeout, once
        cache.delete("page:campaign")  # the admin's edit invalidates the page
        assert cache.get("page:campaign") is None
        assert time.monotonic() - started < 0.5
    finally:
        private_redis.send_signal(signal.SIGCONT)

    clock.shift(timedelta(seconds=RETRY + 1))
    assert cache.get("page:campaign") is None  # not "before the edit"
    assert cache.get("page:other") == "unchanged"  # the rest of Redis is kept


def test_a_closed_port_costs_one_refused_connection_per_retry_interval(
    make_cache, clock
):
    cache = make_cache(f"redis://127.0.0.1:{free_port()}/1")
    started = time.monotonic()
    for _ in range(200):
        cache.get("count:1")
    assert time.monotonic() - started < 0.5
    assert cache._cache.breaker.is_open


def test_the_breaker_warns_at_most_once_a_minute_and_lets_one_probe_through(
    clock, caplog
):
    breaker = CircuitBreaker(
        "Thing", retry_seconds=RETRY, logger=logging.getLogger("test.breaker")
    )
    assert breaker.attempt() is Attempt.NORMAL
    error = ConnectionError("refused")
    for _ in range(20):  # 50 s of failing probes and skipped calls
        breaker.failed(error)
        assert breaker.attempt() is Attempt.SKIP
        clock.shift(timedelta(seconds=RETRY / 2))
        breaker.attempt()  # a probe, or a skip
    clock.shift(timedelta(seconds=RETRY))
    assert breaker.attempt() is Attempt.PROBE
    assert breaker.attempt() is Attempt.SKIP  # only one probe at a time
    breaker.failed(error)
    clock.shift(timedelta(seconds=60))
    assert breaker.attempt() is Attempt.PROBE
    breaker.failed(error)
    assert breaker.attempt() is Attempt.SKIP
    breaker.succeeded()
    assert breaker.attempt() is Attempt.NORMAL

    messages = [r.getMessage() for r in caplog.records if r.name == "test.breaker"]
    assert len(messages) == 3, messages
    assert messages[0].startswith("Thing unreachable (ConnectionError: refused)")
    assert "(0 calls answered by the fallback" in messages[0]
    assert messages[1].startswith("Thing unreachable")
    assert "(0 calls" not in messages[1]
    assert messages[2] == "Thing reachable again"


def test_the_threads_of_a_process_share_one_fallback_and_one_breaker(make_cache):
    """Django gives each thread its own cache object; the per-IP counters must
    still be per process (gunicorn runs GUNICORN_THREADS threads), not per thread."""
    url = f"redis://127.0.0.1:{free_port()}/1"
    one_thread, another = make_cache(url), make_cache(url)
    assert one_thread.add("limit:ip", 1, 300) is True
    assert another.incr("limit:ip") == 2
    assert another._cache.breaker is one_thread._cache.breaker
    assert another._cache.breaker.is_open

"""Django's Redis cache, made to survive Redis going away.

Nothing in the cache is irreplaceable (signature counts, rate-limit counters,
rendered fragments), so a Redis outage must not turn every page into a 500. While
Redis is unreachable, each web process answers from a small in-process LocMemCache
instead: pages and signing go on working, the counts fall back to the database (a
miss), and django-ratelimit's counters become per-process ones: the per-IP limits
still hold, per process, rather than vanishing.

The cost of noticing is bounded: connections time out after REDIS_CONNECT_TIMEOUT
(well under 100 ms), and after a failure this process stops trying for
REDIS_RETRY_SECONDS (config/breaker.py), so requests during an outage do not each
wait for a refused connection.

When Redis answers again, the keys this process wrote or deleted meanwhile are
deleted from Redis before it is used: Redis must not go on serving a value the
process replaced or invalidated during the outage (e.g. a page cached before an
admin edit). Too many such keys, or a clear(), and the whole cache is cleared.

Set as the backend of a redis:// CACHE_URL in config/settings.py.
"""

import logging
import threading
from dataclasses import dataclass, field

import redis
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

from config.breaker import Attempt, CircuitBreaker

logger = logging.getLogger(__name__)

# Redis failures that mean "unreachable or hung", as opposed to a bad command.
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
FALLBACK_MAX_ENTRIES = 1000
# Beyond this many keys written during an outage, clear the cache on recovery.
MAX_DIRTY_KEYS = 10_000


def _as_is(key: str, key_prefix: str, version: int) -> str:
    # The keys reaching the client are made (prefixed, versioned) already.
    return key


@dataclass
class _Outage:
    """What a process knows about one Redis cache. Shared by the process's
    threads: Django gives each thread its own cache object, but one breaker, one
    fallback and so one per-process rate limiter are wanted, not one per thread."""

    breaker: CircuitBreaker
    fallback: LocMemCache  # thread-safe
    # Keys written to the fallback since Redis was last reachable; None: too many
    # to list (or cleared), so clear Redis on recovery.
    dirty: set[str] | None = field(default_factory=set)


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        if location not in _outages:
            breaker = CircuitBreaker(
                "Cache (Redis)",
                retry_seconds=settings.REDIS_RETRY_SECONDS,
                logger=logger,
            )
            fallback = LocMemCache(
                f"redis-fallback:{location}",
                {
                    "KEY_FUNCTION": _as_is,
                    "OPTIONS": {"MAX_ENTRIES": FALLBACK_MAX_ENTRIES},
                },
            )
            _outages[location] = _Outage(breaker, fallback)
        return _outages[location]


def reset() -> None:
    """Every cache back to "Redis reachable, nothing to reconcile" (tests)."""
    with _outages_lock:
        for outage in _outages.values():
            outage.breaker.reset()
            outage.fallback.clear()
            outage.dirty = set()


class FallbackRedisCacheClient(RedisCacheClient):
    """RedisCacheClient whose every operation falls back to a LocMemCache."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        location = ",".join(servers)
        self.outage = _outage_for(location)
        self.breaker, self.fallback = self.outage.breaker, self.outage.fallback
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key=None, *, write=False):
        """One redis.Redis per connection pool, kept: Django builds a new one for
        each operation, and its constructor (a table of ~170 reply callbacks,
        ~0.1 ms) costs more than the GET it serves. The pool hands each command
        a connection, so a kept client is as safe as a new one."""
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def _call(self, name: str, args: tuple, written: tuple = ()):
        attempt = self.breaker.attempt()
        if attempt is not Attempt.SKIP:
            try:
                if attempt is Attempt.PROBE:
                    self._reconcile()
                result = getattr(RedisCacheClient, name)(self, *args)
            except REDIS_DOWN as exc:
                self.breaker.failed(exc)
            else:
                self.breaker.succeeded()
                return result
        self._mark_dirty(written)
        return getattr(self.fallback, name)(*args)

    def _mark_dirty(self, keys) -> None:
        if self.outage.dirty is None:
            return
        self.outage.dirty.update(keys)
        if len(self.outage.dirty) > MAX_DIRTY_KEYS:
            self.outage.dirty = None

    def _reconcile(self) -> None:
        """First thing once Redis answers again: forget there what this process
        changed while it was away. Raises REDIS_DOWN if it still does not answer.
        Threads that skipped Redis during the probe may add keys meanwhile: those
        are deleted too, before the breaker closes."""
        reached = False
        while (dirty := self.outage.dirty) != set():
            self.outage.dirty = set()
            try:
                if dirty is None:
                    RedisCacheClient.clear(self)
                else:
                    RedisCacheClient.delete_many(self, list(dirty))
            except REDIS_DOWN:
                if dirty is None or self.outage.dirty is None:
                    self.outage.dirty = None
                else:
                    self._mark_dirty(dirty)
                raise
            reached = True
        if not reached:
            self.get_client(write=True).ping()
        self.fallback.clear()  # the next outage starts afresh

    def ping(self) -> bool:
        """Whether Redis answers now (for /healthz; the breaker is left alone)."""
        try:
            return bool(self.get_client(write=True).ping())
        except REDIS_DOWN:
            return False

    # Every operation of RedisCacheClient, with the keys it changes.
    def add(self, key, value, timeout):
        return self._call("add", (key, value, timeout), (key,))

    def get(self, key, default):
        return self._call("get", (key, default))

    def set(self, key, value, timeout):
        return self._call("set", (key, value, timeout), (key,))

    def touch(self, key, timeout):
        return self._call("touch", (key, timeout), (key,))

    def delete(self, key):
        return self._call("delete", (key,), (key,))

    def get_many(self, keys):
        return self._call("get_many", (keys,))

    def has_key(self, key):
        return self._call("has_key", (key,))

    def incr(self, key, delta):
        return self._call("incr", (key, delta), (key,))

    def set_many(self, data, timeout):
        return self._call("set_many", (data, timeout), tuple(data))

    def delete_many(self, keys):
        return self._call("delete_many", (keys,), tuple(keys))

    def clear(self):
        result = self._call("clear", ())
        if self.breaker.is_open:  # only the fallback was cleared
            self.outage.dirty = None
        return result


class FallbackRedisCache(RedisCache):
    """Django's RedisCache on FallbackRedisCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = FallbackRedisCacheClient

    def reachable(self) -> bool:
        return self._cache.ping()

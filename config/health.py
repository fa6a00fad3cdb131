"""/healthz for the orchestrator: 200 whenever the database answers, 503 only
when it does not. Redis (cache and broker) is reported but does not fail the
probe: without it a web process still serves pages and takes signatures (the
cache falls back to memory, config/cache.py; letters wait in the outbox for the
sweeper), so pulling every instance out of service over it would turn a degraded
site into a dead one. Plain http is allowed (SECURE_REDIRECT_EXEMPT) so a probe
inside the private network needs no TLS."""

import logging

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

# A probe must answer well inside the orchestrator's own timeout (compose: 5 s).
BROKER_TIMEOUT_SECONDS = 1.5


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as exc:
        logger.warning("health: database unavailable: %s", type(exc).__name__)
        return False


def broker_ok() -> bool | None:
    """None when no broker is configured (quick start: tasks run eagerly)."""
    if not settings.CELERY_BROKER_URL:
        return None
    # The stack's broker is Redis (README); a PING proves it accepts commands.
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError as exc:
        logger.warning("health: broker unavailable: %s", type(exc).__name__)
        return False
    finally:
        client.close()


def cache_ok() -> bool | None:
    """None when the cache is this process's memory (the quick start)."""
    reachable = getattr(cache, "reachable", None)  # config.cache.FallbackRedisCache
    return None if reachable is None else reachable()


@never_cache
@require_safe
def healthz(request):
    database, redis_parts = database_ok(), (cache_ok(), broker_ok())
    if not database:
        status = "unavailable"
    else:
        status = "degraded" if False in redis_parts else "ok"
    return JsonResponse(
        {
            "status": status,
            "database": "ok" if database else "down",
            "cache": {None: "local", True: "ok", False: "down"}[redis_parts[0]],
            "broker": {None: "eager", True: "ok", False: "down"}[redis_parts[1]],
        },
        status=200 if database else 503,
    )


def probe() -> int:
    """The container healthcheck (`python -m config.health`): ask this container's
    gunicorn for /healthz, as the site's own host name so ALLOWED_HOSTS accepts it.
    Standard library only; exit status 0 means healthy."""
    import os
    import urllib.request

    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rsplit(":", 1)[1]
    allowed = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost").split(",")
    host = allowed[0].strip().lstrip(".").replace("*", "localhost") or "localhost"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz", headers={"Host": host}
    )
    try:
        with urllib.request.urlopen(request, timeout=4) as response:  # noqa: S310
            return 0 if response.status == 200 else 1
    except OSError as exc:  # URLError, HTTPError (503), refused, timeout
        print(f"unhealthy: {exc}")  # shown by `docker inspect`
        return 1


if __name__ == "__main__":
    raise SystemExit(probe())

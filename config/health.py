"""/healthz for the orchestrator: 200 when the database and the broker answer,
503 otherwise. Plain http is allowed (SECURE_REDIRECT_EXEMPT) so a probe inside
the private network needs no TLS."""

import logging

import redis
from django.conf import settings
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
    # The stack's broker is Redis (docs/deploy.md); a PING proves it accepts commands.
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        return bool(client.ping())
    except redis.RedisError as exc:
        logger.warning("health: broker unavailable: %s", type(exc).__name__)
        return False
    finally:
        client.close()


@never_cache
@require_safe
def healthz(request):
    database, broker = database_ok(), broker_ok()
    healthy = database and broker is not False
    return JsonResponse(
        {
            "status": "ok" if healthy else "unavailable",
            "database": "ok" if database else "down",
            "broker": {None: "eager", True: "ok", False: "down"}[broker],
        },
        status=200 if healthy else 503,
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

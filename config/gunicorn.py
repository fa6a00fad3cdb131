"""Gunicorn settings, shared by the Dockerfile, docker-compose.yml and the smoke
test (`gunicorn --config config/gunicorn.py config.wsgi`)."""

import os

import environ

from config.logs import logging_config

env = environ.Env()

bind = env.str("GUNICORN_BIND", default="0.0.0.0:8000")  # noqa: S104 (container)
# Threaded workers: pages are short database reads and writes (SMTP happens in
# Celery), but a CSV export streams for as long as it needs, and a sync worker
# busy streaming misses its heartbeat and is killed mid-download at `timeout`.
# A gthread worker's main thread keeps the heartbeat going (bench/README.md).
worker_class = "gthread"
# One process per CPU: each runs Python under one GIL, so a third process on two
# CPUs only takes turns with the others (sign POSTs cost 11% more CPU each with
# 3 on the 2-CPU bench machine: bench/README.md); the threads cover waits on
# PostgreSQL and Redis. Set WEB_CONCURRENCY to the CPUs a larger host gives.
workers = env.int("WEB_CONCURRENCY", default=2)
threads = env.int("GUNICORN_THREADS", default=4)
timeout = env.int("GUNICORN_TIMEOUT", default=30)
# Recycle workers now and then so a slow leak cannot grow without bound. Not
# often: each recycle is a Django start-up (about a second of CPU) taken from a
# site under load, and at 2,000 a spike of page views restarted a worker every
# few seconds (bench/README.md). 0: never.
max_requests = env.int("GUNICORN_MAX_REQUESTS", default=50_000)
max_requests_jitter = max_requests // 10
# /dev/shm: the heartbeat file must not sit on a slow or read-only disk.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# Gunicorn's default control socket lives in $HOME, shared by every instance on
# the machine; nothing here uses it.
control_socket_disable = True
# No access log: Django logs one JSON line per request, without client IPs and
# with the URL pattern instead of the path (paths can carry tokens).
accesslog = None
# Gunicorn's own lines (start, worker boot, timeouts) go through the same handler.
logconfig_dict = logging_config(
    level=env.str("LOG_LEVEL", default="INFO"),
    as_json=env.bool("LOG_JSON", default=True),
)
logconfig_dict["loggers"] = {
    **logconfig_dict.get("loggers", {}),
    "gunicorn.error": {"handlers": [], "propagate": True},
}

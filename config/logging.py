"""Structured logs: one JSON object per line on stdout, each tagged with the id of
the request (or the Celery task) it belongs to.

The request id travels with the tasks a request queues, so a supporter's
confirmation and the delivery of their letters share one id across the web and
worker processes. Log ids, never personal data: names, emails and postcodes stay
in the database and the admin (a log is copied to places a database is not).
Confirmation tokens are blanked out of every line (RedactTokensFilter).
"""

import logging
import re
import time
import uuid
from contextvars import ContextVar

from celery import signals as celery_signals
from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

# What we accept from a proxy's X-Request-ID: anything else could forge log lines.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The Celery message header that carries the id from the web to the worker.
TASK_HEADER = "quillpost_request_id"

request_logger = logging.getLogger("quillpost.request")


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request (or task) id."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


# The token in a confirmation link confirms someone's signature: whoever reads
# the log must not be able to.
_CONFIRM_TOKEN = re.compile(r"(/confirm/)[^/\s?#\"']+")
REDACTED = "[redacted]"


def redact_tokens(text: str) -> str:
    return _CONFIRM_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class RedactTokensFilter(logging.Filter):
    """Blank out the token of any confirmation path in a line. Our own lines name
    routes, not paths, but Django's do: "Not Found: /confirm/<token>/"
    (django.request), "Forbidden (CSRF …): /confirm/<token>/"
    (django.security.csrf), and runserver's request lines (django.server)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed line: the handler reports it as such
            return True
        if "/confirm/" in message:
            # The formatted text replaces msg and args, for every handler after.
            record.msg, record.args = redact_tokens(message), ()
        extras = {
            key: value
            for key, value in vars(record).items()
            if key not in RESERVED_ATTRS and isinstance(value, str)
        }
        for key, value in extras.items():  # e.g. a path passed as an extra field
            if "/confirm/" in value:
                setattr(record, key, redact_tokens(value))
        if record.exc_info:
            # A traceback can quote the path too (an exception raised while
            # serving /confirm/<token>/). Format it here, blanked, and drop
            # exc_info: the text and JSON formatters both print exc_text instead.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, redact_tokens(text)
        elif record.exc_text:
            record.exc_text = redact_tokens(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_tokens(record.stack_info)
        return True


def json_formatter() -> JsonFormatter:
    # Django attaches the request object to its own records; its repr carries the
    # full path, and confirmation paths carry a token, so it stays out of the line.
    return JsonFormatter(
        ["levelname", "name", "message", "request_id"],
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=[*RESERVED_ATTRS, "request", "request_id"],
        timestamp="time",  # ISO 8601, UTC
    )


def logging_config(*, level: str, as_json: bool) -> dict:
    """The LOGGING dict: everything to stdout, JSON in production."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "config.logging.RequestIdFilter"},
            "redact_tokens": {"()": "config.logging.RedactTokensFilter"},
        },
        "formatters": {
            "json": {"()": "config.logging.json_formatter"},
            "text": {
                "format": "%(asctime)s %(levelname)s %(name)s "
                "[%(request_id)s] %(message)s"
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "filters": ["request_id", "redact_tokens"],
                "formatter": "json" if as_json else "text",
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own handlers (stderr in DEBUG, mail to ADMINS, runserver's
        # lines) would print paths past the filter above: every line goes through
        # "console" instead.
        "loggers": {
            "django": {"handlers": []},
            "django.server": {"handlers": ["console"], "propagate": False},
        },
    }


def _quiet(request) -> bool:
    """Probes and static files would drown the useful lines at INFO."""
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    return request.path == "/healthz" or request.path.startswith(static_prefix)


class RequestIdMiddleware:
    """Give each request an id (the proxy's X-Request-ID if well-formed), echo it
    in the response, and log one line per request.

    The line names the URL pattern, not the path: confirmation paths carry a
    token that must not sit in a log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = (
            incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        # Cleared on request_finished, not here: Django logs its 4xx/5xx line for
        # the response after the middleware has returned.
        request_id_var.set(request_id)
        started = time.monotonic()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        match = getattr(request, "resolver_match", None)
        request_logger.log(
            logging.DEBUG if _quiet(request) else logging.INFO,
            "request",
            extra={
                "method": request.method,
                "route": match.route if match else None,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
        return response


@receiver(request_finished)
def _clear_request_id(**kwargs) -> None:
    request_id_var.set("")


# --- Celery: carry the id into the worker ------------------------------------------
# Connected when this module is imported, which Django's logging setup does in every
# process (web, worker, beat) before any task is published or run.
_task_tokens: dict[str, object] = {}


@celery_signals.before_task_publish.connect
def _attach_request_id(headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


@celery_signals.task_prerun.connect
def _bind_task_request_id(task_id=None, task=None, **kwargs) -> None:
    # Eager tasks run inside the request and keep its id; a worker takes the one
    # the message carries, or falls back to the task id.
    request_id = (
        getattr(task.request, TASK_HEADER, None) or request_id_var.get() or task_id
    )
    _task_tokens[task_id] = request_id_var.set(request_id)


@celery_signals.task_postrun.connect
def _unbind_task_request_id(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)

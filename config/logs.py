"""Structured logs: one JSON object per line on stdout, each tagged with the id of
the request (or the Celery task) it belongs to.

django-guid gives each request its id (the proxy's X-Request-ID when it is a UUID,
echoed in the response) and carries it into the tasks the request queues
(DJANGO_GUID in config/settings.py), so a supporter's confirmation and the delivery
of their letters share one id across the web and worker processes. This module
keeps what is ours: the one line per request, and the redaction of tokens.

Log ids, never personal data: names, emails and postcodes stay in the database and
the admin (a log is copied to places a database is not). Confirmation tokens are
blanked out of every line (RedactTokensFilter).
"""

import logging
import re
import time

from django.conf import settings
from django_guid.log_filters import CorrelationId
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

request_logger = logging.getLogger("quillpost.request")

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


def request_id_filter() -> logging.Filter:
    """django-guid's filter, stamping the id under the name our lines use."""
    return CorrelationId(correlation_id_field="request_id")


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
            "request_id": {"()": "config.logs.request_id_filter"},
            "redact_tokens": {"()": "config.logs.RedactTokensFilter"},
        },
        "formatters": {
            "json": {"()": "config.logs.json_formatter"},
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
            # django-guid narrates every request and task at INFO ("header found",
            # "setting GUID"); its warnings (a replaced X-Request-ID) are kept.
            "django_guid": {"level": "WARNING"},
        },
    }


def _quiet(request) -> bool:
    """Probes and static files would drown the useful lines at INFO."""
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    return request.path == "/healthz" or request.path.startswith(static_prefix)


class RequestLineMiddleware:
    """Log one line per request, after django-guid's middleware has given it an id.

    The line names the URL pattern, not the path: confirmation paths carry a
    token that must not sit in a log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.monotonic()
        response = self.get_response(request)
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

"""Per-client-IP limits on the public requests that send email or render a lot.

Signing sends a confirmation email (a repeat signing re-sends it), so it is limited
per campaign and across campaigns: otherwise one machine could make the site mail
any number of strangers. The letter preview renders every official's letter and
is posted as a person types: its own, generous limit. Confirming needs the secret
link from a confirmation email, so it is bounded by the signing limits already.

Counters are django-ratelimit's, in the Django cache (Redis in production, shared
by every web process); the client IP is config/client_ip.py's. Rates are read from
settings on each request. RATELIMIT_ENABLE=0 turns all of this off.
"""

import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from .models import Campaign


@dataclass(frozen=True)
class Refusal:
    """Why a request was not served, for the person who sent it."""

    message: str
    status: int = 429
    retry_after: int | None = None  # seconds

    @property
    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


def _wait_words(seconds: int) -> str:
    if seconds <= 60:
        return "a minute"
    if seconds <= 90 * 60:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


def _over(request: HttpRequest, *, group: str, rate: str) -> int | None:
    """Count this request against `group`'s limit for its client IP; when over,
    the seconds until the window ends, else None."""
    usage = get_usage(request, group=group, key="ip", rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    # time_left is -1 when the cache could not count (the request is refused).
    return max(usage["time_left"], 1)


def _refusal(what: str, seconds: int) -> Refusal:
    return Refusal(
        message=f"Too many {what} from your connection. "
        f"Please try again in {_wait_words(seconds)}.",
        retry_after=seconds,
    )


def sign_refusal(request: HttpRequest, *, campaign: Campaign) -> Refusal | None:
    """Counts one signing; a Refusal once the client is over either limit."""
    seconds = _over(
        request, group=f"sign:{campaign.pk}", rate=settings.SIGN_RATE_LIMIT
    ) or _over(request, group="sign", rate=settings.SIGN_RATE_LIMIT_ALL)
    return _refusal("signatures", seconds) if seconds else None


def preview_refusal(request: HttpRequest) -> Refusal | None:
    """Counts one preview (live or the no-JavaScript button)."""
    seconds = _over(request, group="preview", rate=settings.PREVIEW_RATE_LIMIT)
    return _refusal("previews", seconds) if seconds else None

"""Where a supporter came from: the campaign link's `utm_*` and `ref` parameters,
else the host of the site that linked to it (never its full URL, which can carry
someone's search or private page).

The campaign page puts them in hidden fields of the sign form, so they survive
a failed submission and reach the signature. Hidden fields can be edited by
anyone, so a value is cleaned, never refused: a supporter can't fix what they
can't see. One label per signature (source_label_sql) is what the dashboard counts.
"""

import re
from dataclasses import asdict, dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Concat
from django.urls import reverse

from letters.text import is_single_line

# Query parameters kept, with their length caps (the model's max_length).
PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "ref")
VALUE_MAX_LENGTH = 100
HOST_MAX_LENGTH = 253  # the longest DNS name
_HOST_RE = re.compile(
    r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"
)
FIELDS = (*PARAMETERS, "referrer_host")
DIRECT = "(direct)"


@dataclass(frozen=True)
class Source:
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    ref: str = ""
    referrer_host: str = ""

    def as_fields(self) -> dict[str, str]:
        return asdict(self)


NO_SOURCE = Source()


def clean_value(value: object) -> str:
    """A parameter as stored: one line of text, at most VALUE_MAX_LENGTH
    characters; anything with control characters is dropped."""
    text = str(value or "").strip()
    if not is_single_line(text):
        return ""
    return text[:VALUE_MAX_LENGTH].strip()


def clean_host(value: object) -> str:
    """A host name as stored: lower case ASCII letters, digits, dots and
    hyphens (punycode for an international name); anything else is dropped."""
    host = str(value or "").strip().lower().rstrip(".")
    try:  # an international name as its DNS (punycode) form
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    if len(host) > HOST_MAX_LENGTH or not _HOST_RE.match(host):
        return ""
    return host


def referrer_host(referer: str, *, own_host: str) -> str:
    """The referring site's host, or "" for none, a broken header or our own
    site (moving between our pages is not a source)."""
    try:
        host = urlsplit(referer).hostname or ""
    except ValueError:
        return ""
    own = own_host.rsplit(":", 1)[0].lower() if own_host else ""
    host = clean_host(host)
    return "" if host == own else host


def source_initial(request) -> dict[str, str]:
    """The hidden fields' values for a campaign page answering a GET."""
    initial = {name: clean_value(request.GET.get(name)) for name in PARAMETERS}
    initial["referrer_host"] = referrer_host(
        request.META.get("HTTP_REFERER", ""), own_host=request.get_host()
    )
    return initial


SHARE_CHANNELS = ("email", "whatsapp", "x", "facebook")


def share_urls(*, campaign) -> dict[str, str]:
    """The campaign's address for each share button on the thank-you page, tagged
    so that the signatures a share brings in count under its channel."""
    url = settings.SITE_URL + reverse("campaign:detail", args=[campaign.slug])
    return {
        channel: f"{url}?{urlencode({'utm_source': channel, 'utm_medium': 'share'})}"
        for channel in SHARE_CHANNELS
    }


def source_label_sql():
    """One label per signature, in PostgreSQL: its utm_source, else "ref=" and its
    ref, else the referring host, else "(direct)"."""
    return Case(
        When(~Q(utm_source=""), then=F("utm_source")),
        When(~Q(ref=""), then=Concat(Value("ref="), F("ref"))),
        When(~Q(referrer_host=""), then=F("referrer_host")),
        default=Value(DIRECT),
        output_field=CharField(),
    )

"""The campaign page, rendered once per campaign and served from the cache.

Rendering the page costs ~10 ms (the sign form through crispy-forms, each
official's letter), and it is the same for every anonymous visitor but for four
things, which the cached markup holds as slots filled in per response:

- the CSRF token: each visitor their own (get_token(request), which also sets the
  cookie): a shared token would let one visitor's page post as another;
- the signed render time of the bot trap (campaign/bot_traps.py);
- where this visitor came from (sources.source_initial(): the link's utm_*
  and ref parameters, the referring host), in the sign form's hidden fields;
- the signature count (selectors.signature_counts(): at most
  SIGNATURE_COUNT_CACHE_SECONDS stale), rendered into its small fragments.

Everything else on the page is as of its rendering, including the replies
supporters report (campaign/replies.py): those show within
CAMPAIGN_PAGE_CACHE_SECONDS.

A slot is a marker with a random part drawn for each rendering, so no text in the
page (a campaign's own, or what a supporter typed into a form shown again) can
pose as one.

Freshness: each campaign has a version in the cache; admin edits of the campaign,
its template or its officials change it after commit (services/pages.py:
campaign_pages_invalidate); a page rendered under an older version is not served.
A page is also dropped after CAMPAIGN_PAGE_CACHE_SECONDS and at the campaign's
next opening or closing time. The version is read right after the campaign row:
an edit committed before the rest of the page is read shows after the TTL.

Each process also keeps the pages it served (`_local`), checked against the
cache's version on every view and once a second by sign POSTs: a signing in the
second after another process's edit is like one in flight during it (confirming
checks the campaign again; letters go to the targets as they are then).

Only anonymous GETs and HEADs are served from here; a page with a form bound to
what someone typed (errors, a preview) is filled in at once, never stored.
"""

import re
import secrets
import time
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import escape

from . import bot_traps, selectors, sources
from .models import Campaign, ConsentText, Official

# The count's fragments: rendered per response from the campaign and the count.
_COUNT_SLOTS = {
    "progress": "campaign/_progress.html",
    "closed_count": "campaign/_closed_count.html",
}
# The sign form's hidden fields saying where the visitor came from (sources.py).
_SOURCE_SLOTS = {f"source_{name}": name for name in sources.FIELDS}
SLOT_NAMES = ("csrf_token", "stamp", *_COUNT_SLOTS, *_SOURCE_SLOTS)


def _page_key(slug: str) -> str:
    return f"campaign-page:{slug}"


def _version_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:page-version"


def _new_version() -> str:
    return secrets.token_hex(8)


def current_version(*, campaign_id: int) -> str:
    """The campaign's page version, created if the cache has none: a random one, so
    a version lost with the cache never matches a page stored before."""
    key = _version_key(campaign_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, _new_version(), None)
        version = cache.get(key)
    return version


def versions_bump(*, campaign_ids: list[int]) -> None:
    """Make every stored page of these campaigns stale (called after commit)."""
    cache.set_many({_version_key(pk): _new_version() for pk in campaign_ids}, None)
    _matched.clear()  # this process's sign POSTs see the edit at once


@dataclass(frozen=True)
class Skeleton:
    """A rendered page whose per-response values are still slots."""

    html: str
    nonce: str
    campaign: Campaign  # what the count's fragments read (pk, goal)
    status: int = 200

    def marker(self, name: str) -> str:
        return _marker(self.nonce, name)

    @cached_property
    def parts(self) -> list[str]:
        """The markup split at its slots, once per process: even items are
        markup, odd ones slot names. Filling in joins them, instead of searching
        ~30 kB of markup for markers on every response."""
        return re.split(_marker(self.nonce, r"(\w+)"), self.html)

    def count_fragment(self, name: str, count: int) -> str:
        """A count slot's markup, rendered once per count: the count changes at
        most every SIGNATURE_COUNT_CACHE_SECONDS, the page is served far more
        often. The fragments read nothing but the campaign and the count."""
        fragments = self.__dict__.setdefault("_fragments", {})
        if fragments.get(name, (None,))[0] != count:
            context = {"campaign": self.campaign, "count": count}
            html = render_to_string(_COUNT_SLOTS[name], context).strip()
            fragments[name] = (count, html)
        return fragments[name][1]


@dataclass(frozen=True)
class _Stored:
    skeleton: Skeleton
    version: str
    valid_until: float  # time.time()
    targets: list[Official]  # the campaign's active targets when rendered
    # The consent wording its sign form shows (None: no form). A new wording makes
    # every page stale (services/privacy.py), so a current page's is current.
    consent: ConsentText | None = None


@dataclass(frozen=True)
class CachedSigning:
    """What a sign POST needs, as the current cached page has it."""

    campaign: Campaign  # with its letter template
    targets: list[Official]  # its active targets
    consent: ConsentText | None  # the wording the page's form showed


def _marker(nonce: str, name: str) -> str:
    return f"qp-slot-{nonce}-{name}"


def new_slots() -> tuple[str, dict[str, str]]:
    """A fresh nonce, and the markers to render in place of each slot's value."""
    nonce = secrets.token_hex(8)
    return nonce, {name: _marker(nonce, name) for name in SLOT_NAMES}


def source_slots(slots: dict[str, str]) -> dict[str, str]:
    """The sign form's `initial` for the source fields: their slots' markers."""
    return {name: slots[slot] for slot, name in _SOURCE_SLOTS.items()}


def fill(request: HttpRequest, skeleton: Skeleton, *, count: int) -> HttpResponse:
    """The page for this response: the skeleton with its slots filled in."""
    values = {"csrf_token": get_token(request), "stamp": bot_traps.new_stamp()}
    # Each visitor's own source, escaped: it is what they (or a link) sent.
    source = sources.source_initial(request)
    values.update({slot: escape(source[name]) for slot, name in _SOURCE_SLOTS.items()})
    parts = skeleton.parts
    filled = parts.copy()
    for i in range(1, len(parts), 2):
        name = parts[i]
        if name in _COUNT_SLOTS:
            filled[i] = skeleton.count_fragment(name, count)
        else:
            filled[i] = values.get(name, "")
    return HttpResponse("".join(filled), status=skeleton.status)


def servable(request: HttpRequest) -> bool:
    """Whether this request may be answered from (and may fill) the cache."""
    if request.method not in ("GET", "HEAD"):
        return False
    # No session cookie: anonymous without loading a session.
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return True
    return not request.user.is_authenticated


# Each process keeps the pages it last served: a warm view fetches the version and
# the count (a few bytes), not the ~30 kB page, and never serves an old version.
_local: dict[str, _Stored] = {}
_LOCAL_MAX = 200  # pages; more campaigns than this: the oldest are forgotten
# For sign POSTs, the version each local copy last matched the cache's, and when.
# The round trip was a sixteenth of a POST's CPU (redis-py's machinery).
_matched: dict[str, tuple[str, float]] = {}
SIGNING_RECHECK_SECONDS = 1.0


def forget_local() -> None:
    """Drop this process's copies (tests, after emptying the cache)."""
    _local.clear()
    _matched.clear()


def _remember(slug: str, stored: _Stored) -> None:
    if slug not in _local and len(_local) >= _LOCAL_MAX:
        oldest = next(iter(_local))
        del _local[oldest]
        _matched.pop(oldest, None)
    _local[slug] = stored


def _shared(slug: str) -> _Stored | None:
    stored = cache.get(_page_key(slug))
    if stored is not None:
        _remember(slug, stored)
    return stored


def _current(slug: str, *extra_keys: str) -> tuple[_Stored | None, dict]:
    """This slug's page if it is still current, and the cache's values of the
    campaign's `extra_keys` (fetched in the same round trip as the version)."""
    now = time.time()
    stored, local = _local.get(slug), True
    if stored is None or now >= stored.valid_until:
        stored, local = _shared(slug), False
    if stored is None or now >= stored.valid_until:
        return None, {}
    version_key = _version_key(stored.skeleton.campaign.pk)
    cached = cache.get_many([version_key, *extra_keys])
    version = cached.get(version_key)
    if version != stored.version and local:
        # This process's copy is old (or the slug now belongs to another campaign,
        # whose page then has another version): the shared one may be current.
        stored = _shared(slug)
        if stored is None or now >= stored.valid_until:
            return None, {}
    if version is None or stored.version != version:
        return None, {}
    _matched[slug] = (version, now)
    return stored, cached


def cached_response(request: HttpRequest, *, slug: str) -> HttpResponse | None:
    """The page from the cache, filled in for this request; None on a miss.
    One cache round trip and no query while this process has the page and the
    count is fresh."""
    # The count's keys ride along with the version when this process knows
    # which campaign the slug is.
    known = _local.get(slug)
    known_id = known.skeleton.campaign.pk if known else None
    count_keys = (
        selectors.signature_count_keys(campaign_id=known_id) if known_id else []
    )
    stored, cached = _current(slug, *count_keys)
    if stored is None:
        return None
    campaign_id = stored.skeleton.campaign.pk
    counts = selectors.signature_counts(
        campaign_ids=[campaign_id], cached=cached if campaign_id == known_id else None
    )
    return fill(request, stored.skeleton, count=counts[campaign_id])


def cached_signing(*, slug: str) -> CachedSigning | None:
    """The campaign, its active targets and the consent wording as the current
    cached page shows them, for a sign POST: no query, and a cache round trip at
    most every SIGNING_RECHECK_SECONDS. None: no current page (read them)."""
    now, stored = time.time(), _local.get(slug)
    version, at = _matched.get(slug, (None, now))
    fresh = stored and stored.version == version and now < stored.valid_until
    if not (fresh and 0 <= now - at < SIGNING_RECHECK_SECONDS):  # 0: clock set back
        stored, _ = _current(slug)
    if stored is None:
        return None
    return CachedSigning(stored.skeleton.campaign, stored.targets, stored.consent)


def store(
    *,
    slug: str,
    skeleton: Skeleton,
    version: str,
    targets: list[Official],
    consent: ConsentText | None,
) -> None:
    """Keep a page rendered under `version` for the next visitors."""
    now = time.time()
    ttl = settings.CAMPAIGN_PAGE_CACHE_SECONDS
    if ttl <= 0:
        return
    # The page changes by itself when the campaign opens or closes.
    boundaries = [
        moment.timestamp()
        for moment in (skeleton.campaign.opens_at, skeleton.campaign.closes_at)
        if moment is not None and moment.timestamp() > now
    ]
    valid_until = min([now + ttl, *boundaries])
    stored = _Stored(skeleton, version, valid_until, targets, consent)
    cache.set(_page_key(slug), stored, ttl)
    _remember(slug, stored)

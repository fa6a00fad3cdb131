"""Reads the public pages need that are more than a one-line query, and the rules
for whether a campaign or a confirmation link can be acted on now.

Signature counts are cached: a campaign page must not run COUNT(*) over a million
rows per view. Every web process shares the cache (Redis when CACHE_URL is set), so
the count is at most SIGNATURE_COUNT_CACHE_SECONDS stale, and confirming adds one.
"""

from enum import StrEnum
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from letters.rendering import TemplateError, validate_subject, validate_template

from .models import AreaTargeting, Campaign, CampaignTarget, Official, Signature


def _count_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:confirmed-signatures"


def _last_count_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:confirmed-signatures:last"


def _recount_lock_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:confirmed-signatures:recounting"


# The last count is kept this long after the fresh one expires, to be served while
# one process recounts; the lock outlives a slow COUNT(*) but not a crashed one.
_LAST_COUNT_SECONDS = 24 * 3600
_RECOUNT_LOCK_SECONDS = 30


def signature_count_keys(*, campaign_id: int) -> list[str]:
    """The cache keys signature_counts() reads, for a caller that fetches them in
    the same round trip as its own keys (campaign/page_cache.py)."""
    return [_count_key(campaign_id), _last_count_key(campaign_id)]


def signature_counts(
    *, campaign_ids: list[int], cached: dict | None = None
) -> dict[int, int]:
    """Confirmed signatures per campaign: one cache round trip, and one grouped
    query for whatever the cache did not have (never one query per campaign).

    Stampede protection: when a fresh count has expired, the first view to take a
    short lock recounts; every other view meanwhile shows the last count (at most
    one recount old). `cached`: the values of signature_count_keys() if the caller
    has already fetched them."""
    if cached is None:
        keys = [k for pk in campaign_ids for k in signature_count_keys(campaign_id=pk)]
        cached = cache.get_many(keys)
    counts, missing = {}, []
    for pk in campaign_ids:
        fresh, last = cached.get(_count_key(pk)), cached.get(_last_count_key(pk))
        if fresh is not None:
            counts[pk] = fresh
        elif last is not None and not cache.add(
            _recount_lock_key(pk), 1, _RECOUNT_LOCK_SECONDS
        ):
            counts[pk] = last  # another process is recounting
        else:
            missing.append(pk)
    if missing:
        fresh = dict.fromkeys(missing, 0)
        rows = (
            Signature.objects.filter(
                campaign_id__in=missing, status=Signature.Status.CONFIRMED
            )
            .values("campaign_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        fresh.update({row["campaign_id"]: row["n"] for row in rows})
        cache.set_many(
            {_count_key(pk): n for pk, n in fresh.items()},
            settings.SIGNATURE_COUNT_CACHE_SECONDS,
        )
        cache.set_many(
            {_last_count_key(pk): n for pk, n in fresh.items()}, _LAST_COUNT_SECONDS
        )
        cache.delete_many([_recount_lock_key(pk) for pk in missing])
        counts.update(fresh)
    return counts


def signature_count(*, campaign_id: int) -> int:
    return signature_counts(campaign_ids=[campaign_id])[campaign_id]


def signature_count_increment(*, campaign_id: int) -> None:
    """Add a confirmation to the cached count, if there is one (after commit).

    An atomic INCR instead of a recount: COUNT(*) on a big campaign costs hundreds
    of milliseconds, and this runs on every confirmation. No cached count: nothing
    to do, the next page view counts. Django's incr() is EXISTS then INCR, so a key
    that expires in between comes back as 1 and, created by INCR, never expires:
    delete it. (A real count of 0 going to 1 is deleted too; the next view
    recounts, which is cheap for a campaign that small.)"""
    key = _count_key(campaign_id)
    try:
        if cache.incr(key) == 1:
            cache.delete(key)
    except ValueError:  # not cached
        pass


def signature_count_decrement(*, campaign_id: int) -> None:
    """Take a withdrawn signature off the cached count (after commit); the mirror
    of signature_count_increment(), with the same race: a key that expired just
    before DECR comes back negative and without expiry, so delete it."""
    key = _count_key(campaign_id)
    try:
        if cache.decr(key) < 0:
            cache.delete(key)
    except ValueError:  # not cached
        pass


# --- may this campaign be signed, may this link be confirmed? ---------------------


class SigningState(StrEnum):
    """Whether a campaign takes signatures now and, if not, what to tell people."""

    OPEN = "open"
    NOT_YET_OPEN = "not-yet-open"
    CLOSED = "closed"  # closed, past its closing time, or still a draft
    PAUSED = "paused"  # in its window, but no one to write to or no letter to send


def _active_targets(campaign: Campaign) -> QuerySet[Official]:
    return campaign.targets.filter(is_active=True)


def _letter_renders(campaign: Campaign) -> bool:
    """The admin refuses to save a broken template, but a row saved before that
    rule (or through the shell) must pause signing, not fail at confirmation."""
    template = campaign.letter_template
    return _template_renders(template.subject_template, template.body_template)


@lru_cache(maxsize=64)
def _template_renders(subject: str, body: str) -> bool:
    # By the texts themselves, so an edit is checked afresh: scanning a letter
    # was a twentieth of a sign POST's CPU (bench/README.md).
    try:
        validate_subject(subject)
        validate_template(body)
    except TemplateError:
        return False
    return True


def campaign_signing_state(
    *, campaign: Campaign, targets: list[Official] | None = None, now=None
) -> SigningState:
    """The one rule for "can this campaign be signed now?", shared by the campaign
    page, campaign_sign() and signature_confirm(). The time window itself is
    Campaign.is_signable(); campaigns_open() is the same rule in SQL.

    `targets`: the campaign's active targets if the caller has fetched them
    already (the page lists them); otherwise one EXISTS query."""
    now = now or timezone.now()
    if not campaign.is_signable(now=now):
        live = campaign.status == Campaign.Status.LIVE
        if live and campaign.opens_at is not None and now < campaign.opens_at:
            return SigningState.NOT_YET_OPEN
        return SigningState.CLOSED
    # A campaign by postcode always has someone: each supporter's representative
    # (an area without one is refused at signing, campaign/areas.py).
    if area_targeting(campaign=campaign) is not None:
        has_targets = True
    elif targets is None:
        has_targets = _active_targets(campaign).exists()
    else:
        has_targets = bool(targets)
    if not has_targets or not _letter_renders(campaign):
        return SigningState.PAUSED
    return SigningState.OPEN


class ConfirmationState(StrEnum):
    """What a confirmation link can do now."""

    UNKNOWN = "unknown"  # no signature has this token
    CONFIRMED = "confirmed"  # already confirmed: nothing to do
    EXPIRED = "expired"  # pending, and the link is too old
    CLOSED = "closed"  # the campaign closed since signing
    PAUSED = "paused"  # the campaign is not taking signatures right now
    PENDING = "pending"  # may be confirmed now


def confirmation_state(*, signature: Signature | None) -> ConfirmationState:
    """The checks signature_confirm() applies, for the confirmation page's GET."""
    if signature is None:
        return ConfirmationState.UNKNOWN
    if signature.status == Signature.Status.CONFIRMED:
        return ConfirmationState.CONFIRMED
    if signature.token_expired():
        return ConfirmationState.EXPIRED
    signing = campaign_signing_state(campaign=signature.campaign)
    if signing is SigningState.OPEN:
        return ConfirmationState.PENDING
    if signing is SigningState.CLOSED:
        return ConfirmationState.CLOSED
    return ConfirmationState.PAUSED


def campaigns_open(*, now=None) -> QuerySet[Campaign]:
    """Campaigns taking signatures, for the home page: campaign_signing_state()'s
    rule in SQL (all but the letter check, which a broken legacy template fails;
    its page then says signing is paused)."""
    now = now or timezone.now()
    return Campaign.objects.filter(
        Q(opens_at__isnull=True) | Q(opens_at__lte=now),
        Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        Exists(Official.objects.filter(campaigns=OuterRef("pk"), is_active=True))
        | Q(area_targeting__isnull=False),
        status=Campaign.Status.LIVE,
    )


def campaigns_public() -> QuerySet[Campaign]:
    """Live and closed campaigns, with their letter template and targeting by
    postcode, if any (drafts are private)."""
    return Campaign.objects.select_related("letter_template", "area_targeting").exclude(
        status=Campaign.Status.DRAFT
    )


def campaign_targets(*, campaign: Campaign) -> list[Official]:
    """The officials a signature writes to (inactive ones get no new letters),
    each with `.delivery_mode`: how this campaign's letters reach them."""
    links = (
        CampaignTarget.objects.filter(campaign=campaign, official__is_active=True)
        .select_related("official")
        .order_by("official__name", "official__pk")
    )
    officials = []
    for link in links:
        link.official.delivery_mode = link.delivery_mode
        officials.append(link.official)
    return officials


def area_targeting(*, campaign: Campaign) -> AreaTargeting | None:
    """The campaign's setting for writing to each supporter's representative, or
    None (fixed officials only). No query when it was select_related."""
    try:
        return campaign.area_targeting
    except AreaTargeting.DoesNotExist:
        return None


def signature_officials(*, signature: Signature) -> list[Official]:
    """Who a signature writes to: the campaign's targets and, in a campaign by
    postcode, the representative found when they signed."""
    targets = campaign_targets(campaign=signature.campaign)
    representative = signature.representative
    if representative is not None and representative not in targets:
        targets.append(representative)
    return targets


def signature_for_token(*, token: str) -> Signature | None:
    return (
        Signature.objects.select_related(
            "campaign__letter_template", "campaign__area_targeting", "representative"
        )
        .filter(token=token)
        .first()
    )

"""Reads the public pages need that are more than a one-line query.

Signature counts are cached: a campaign page must not run COUNT(*) over a million
rows per view. Every web process shares the cache (Redis when CACHE_URL is set), so
the count is at most SIGNATURE_COUNT_CACHE_SECONDS stale, and confirming refreshes it.
"""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import Campaign, Official, Signature


def _count_key(campaign_id: int) -> str:
    return f"campaign:{campaign_id}:confirmed-signatures"


def signature_counts(*, campaign_ids: list[int]) -> dict[int, int]:
    """Confirmed signatures per campaign: one cache round trip, and one grouped
    query for whatever the cache did not have (never one query per campaign)."""
    keys = {_count_key(pk): pk for pk in campaign_ids}
    cached = cache.get_many(list(keys))
    counts = {keys[key]: value for key, value in cached.items()}
    missing = [pk for pk in campaign_ids if pk not in counts]
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
        counts.update(fresh)
    return counts


def signature_count(*, campaign_id: int) -> int:
    return signature_counts(campaign_ids=[campaign_id])[campaign_id]


def signature_count_refresh(*, campaign_id: int) -> int:
    """Recount now and cache the result (after a confirmation). Recounting rather
    than cache.incr(): Django's incr is exists-then-INCR, and a key expiring in
    between would come back as 1 with no expiry at all."""
    count = Signature.objects.filter(
        campaign_id=campaign_id, status=Signature.Status.CONFIRMED
    ).count()
    cache.set(_count_key(campaign_id), count, settings.SIGNATURE_COUNT_CACHE_SECONDS)
    return count


def campaigns_open(*, now=None) -> QuerySet[Campaign]:
    """Live campaigns inside their signing window, for the home page. The same
    rule as Campaign.is_signable(), in SQL."""
    now = now or timezone.now()
    return Campaign.objects.filter(
        Q(opens_at__isnull=True) | Q(opens_at__lte=now),
        Q(closes_at__isnull=True) | Q(closes_at__gt=now),
        status=Campaign.Status.LIVE,
    )


def campaigns_public() -> QuerySet[Campaign]:
    """Live and closed campaigns, with their letter template (drafts are private)."""
    return Campaign.objects.select_related("letter_template").exclude(
        status=Campaign.Status.DRAFT
    )


def campaign_targets(*, campaign: Campaign) -> list[Official]:
    """The officials a signature writes to: inactive ones get no new letters."""
    return list(campaign.targets.filter(is_active=True).order_by("name", "pk"))


def signature_for_token(*, token: str) -> Signature | None:
    return (
        Signature.objects.select_related("campaign", "campaign__letter_template")
        .filter(token=token)
        .first()
    )

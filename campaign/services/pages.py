"""Telling the page cache that campaigns changed (campaign/page_cache.py).

Called explicitly by whatever writes what a campaign page shows (the admin, the
demo loader), not from signals: a write that should refresh pages says so here.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from campaign import page_cache
from campaign.models import Campaign


def campaign_pages_invalidate(
    *,
    campaign_ids: Iterable[int] = (),
    official_ids: Iterable[int] = (),
    template_ids: Iterable[int] = (),
) -> None:
    """Make cached pages stale once the current transaction commits (before it,
    another visitor could cache the old rows again): those of these campaigns, of
    every campaign writing to these officials and of every campaign sending these
    letter templates. Call it before deleting the rows: it looks them up now."""
    ids = set(campaign_ids)
    official_ids, template_ids = list(official_ids), list(template_ids)
    if official_ids or template_ids:
        ids.update(
            Campaign.objects.filter(
                Q(targets__in=official_ids) | Q(letter_template__in=template_ids)
            ).values_list("pk", flat=True)
        )
    if ids:
        bumped = sorted(ids)
        transaction.on_commit(
            lambda: page_cache.versions_bump(campaign_ids=bumped), robust=True
        )

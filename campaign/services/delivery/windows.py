"""Officials' delivery hours: letters and digests due outside them wait, pending,
with next_attempt_at at the next opening (the claim's "not yet" hook, like the
throttle), so the sweeper sees a row that is not due rather than a stuck one.

A supporter's representative in a campaign by postcode (no target row) keeps
the hours of the campaign's area setting (AreaTargeting) instead of their own."""

from datetime import datetime, time, timedelta

from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaign.models import CampaignTarget, Digest, Letter

_DAY = timedelta(days=1)


def window_opening(
    *, days: str, start: time | None, end: time | None, now: datetime
) -> datetime | None:
    """None while `now` is inside the delivery hours (site time zone); otherwise
    when they next open. days: digits 1 (Monday) to 7, blank for every day;
    start/end: the hours of each such day, both or neither (Official.clean)."""
    if not days and start is None:
        return None
    zone = timezone.get_default_timezone()
    local = now.astimezone(zone)
    allowed = {int(d) for d in days} or set(range(1, 8))
    for offset in range(8):
        day = local.date() + offset * _DAY
        if day.isoweekday() not in allowed:
            continue
        opens = datetime.combine(day, start or time.min, tzinfo=zone)
        closes = datetime.combine(day + _DAY * (end is None), end or time.min, zone)
        if opens <= local < closes:
            return None
        if local < opens:
            return opens
    raise ValueError(f"No delivery day in {days!r}")  # Official.clean refuses it


_HOURS = ("send_days", "send_from", "send_until")


def _windows(rows, campaign: str, now: datetime) -> dict[int, datetime]:
    """rows: an outbox queryset; `campaign`: the path to its campaign."""
    is_target = Exists(
        CampaignTarget.objects.filter(
            campaign_id=OuterRef(f"{campaign}_id"), official_id=OuterRef("official_id")
        )
    )
    found = rows.annotate(is_target=is_target).values_list(
        "pk",
        "is_target",
        f"{campaign}__area_targeting__pk",
        *(f"official__{name}" for name in _HOURS),
        *(f"{campaign}__area_targeting__{name}" for name in _HOURS),
    )
    out = {}
    for pk, is_target, by_postcode, *hours in found:
        days, start, end = hours[3:] if by_postcode and not is_target else hours[:3]
        opening = window_opening(days=days, start=start, end=end, now=now)
        if opening is not None:
            out[pk] = opening
    return out


def letter_windows(row_ids: list[int], now: datetime) -> dict[int, datetime]:
    """A claim hook: the letters outside their delivery hours, each with the
    opening."""
    return _windows(Letter.objects.filter(pk__in=row_ids), "signature__campaign", now)


def digest_windows(row_ids: list[int], now: datetime) -> dict[int, datetime]:
    """letter_windows() for digests."""
    return _windows(Digest.objects.filter(pk__in=row_ids), "campaign", now)

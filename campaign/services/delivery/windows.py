"""Officials' delivery hours: letters and digests due outside them wait, pending,
with next_attempt_at at the next opening (the claim's "not yet" hook, like the
throttle), so the sweeper sees a row that is not due rather than a stuck one."""

from collections.abc import Callable
from datetime import datetime, time, timedelta

from django.utils import timezone

from campaign.models import Official

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


def official_windows(
    official_lookup: str,
) -> Callable[[list[int], datetime], dict[int, datetime]]:
    """A claim hook for an outbox model whose rows go to an official:
    `official_lookup` is the reverse name from Official ("letters", "digests").
    Returns the rows outside their official's hours, each with the opening."""

    def waits(row_ids: list[int], now: datetime) -> dict[int, datetime]:
        rows = Official.objects.filter(**{f"{official_lookup}__pk__in": row_ids})
        rows = rows.exclude(send_days="", send_from__isnull=True)
        found = rows.values_list(
            f"{official_lookup}__pk", "send_days", "send_from", "send_until"
        )
        out = {}
        for pk, days, start, end in found:
            opening = window_opening(days=days, start=start, end=end, now=now)
            if opening is not None:
                out[pk] = opening
        return out

    return waits

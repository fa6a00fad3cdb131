"""The dashboard's reads: small aggregates over the tallies (campaign/models/
tallies.py) for a date range, and the last 48 hours counted live. Every read is
one GROUP BY in PostgreSQL over an index; none walks a campaign's signatures."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Min, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from .models import Campaign, LetterTally, Signature, SignatureTally, TallyRefresh

TOP = 10  # bars in the top-sources and top-districts charts
HOURS = 48


@dataclass
class DayRow:
    day: date
    signed: int = 0
    confirmed: int = 0
    confirm_seconds_median: float | None = None

    @property
    def pending(self) -> int:
        return self.signed - self.confirmed


@dataclass
class DashboardData:
    since: date
    until: date
    days: list[DayRow]
    confirmed_before: int  # confirmed signatures signed before `since`
    hours: list[tuple[datetime, int, int]]  # (hour, confirmed, pending), live
    sources: list[tuple[str, int, int]]  # (label, signed, confirmed), top first
    districts: list[tuple[str, int, int]]
    # {official name: {letter status: letters}}, and letters by personal or not
    officials: dict[str, dict[str, int]] = field(default_factory=dict)
    personal: dict[bool, int] = field(default_factory=dict)
    refresh: TallyRefresh | None = None


def _tallies(campaign: Campaign, dimension: str, since: date, until: date):
    return SignatureTally.objects.filter(
        campaign=campaign, dimension=dimension, day__gte=since, day__lte=until
    )


def _days(campaign, since, until) -> list[DayRow]:
    rows = {
        tally.day: DayRow(
            tally.day, tally.signed, tally.confirmed, tally.confirm_seconds_median
        )
        for tally in _tallies(campaign, SignatureTally.Dimension.TOTAL, since, until)
    }
    count = (until - since).days + 1
    days = (since + timedelta(days=offset) for offset in range(count))
    return [rows.get(day, DayRow(day)) for day in days]


def _top(campaign, dimension, since, until) -> list[tuple[str, int, int]]:
    rows = (
        _tallies(campaign, dimension, since, until)
        .values("value")
        .annotate(total=Sum("signed"), confirmed_total=Sum("confirmed"))
        .order_by("-total", "value")[:TOP]
    )
    return [(row["value"], row["total"], row["confirmed_total"]) for row in rows]


def _letters(campaign, since, until):
    rows = list(
        LetterTally.objects.filter(campaign=campaign, day__gte=since, day__lte=until)
        .values("official_id", "official__name", "status", "personal")
        .annotate(total=Sum("letters"))
        .order_by("official__name", "official_id")
    )
    ids_by_name = defaultdict(set)
    for row in rows:
        ids_by_name[row["official__name"]].add(row["official_id"])
    officials: dict[str, dict[str, int]] = defaultdict(dict)
    personal = {True: 0, False: 0}
    for row in rows:
        name = row["official__name"]
        if len(ids_by_name[name]) > 1:  # two officials of one name stay apart
            name = f"{name} (#{row['official_id']})"
        by_status = officials[name]
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["total"]
        personal[row["personal"]] += row["total"]
    return dict(officials), personal


def _last_hours(campaign, now) -> list[tuple[datetime, int, int]]:
    """Live, from the signatures (the tallies may be minutes old): the index on
    created_at finds the last 48 hours' rows, ~3% of a 60-day campaign's."""
    start = (now - timedelta(hours=HOURS - 1)).replace(
        minute=0, second=0, microsecond=0
    )
    rows = (
        Signature.objects.filter(campaign=campaign, created_at__gte=start)
        .annotate(hour=Trunc("created_at", "hour"))
        .values("hour", "status")
        .annotate(total=Count("pk"))
        .order_by()
    )
    counts = {(row["hour"], row["status"]): row["total"] for row in rows}
    zone = timezone.get_current_timezone()
    hours = []
    for offset in range(HOURS):
        hour = (start + timedelta(hours=offset)).astimezone(zone)
        confirmed = counts.get((hour, Signature.Status.CONFIRMED), 0)
        pending = counts.get((hour, Signature.Status.PENDING), 0)
        hours.append((hour, confirmed, pending))
    return hours


def dashboard_data(
    *, campaign: Campaign, since: date | None, until: date | None
) -> DashboardData:
    """The dashboard of one campaign for the days since..until (site time zone,
    inclusive). No since: from its first signature; no until: today."""
    now = timezone.now()
    until = until or timezone.localdate(now)
    totals = SignatureTally.objects.filter(
        campaign=campaign, dimension=SignatureTally.Dimension.TOTAL
    )
    if since is None:
        first = totals.aggregate(first=Min("day"))["first"]
        since, before = min(first or until, until), 0
    else:
        before = totals.filter(day__lt=since).aggregate(total=Sum("confirmed"))
        before = before["total"] or 0
    officials, personal = _letters(campaign, since, until)
    return DashboardData(
        since=since,
        until=until,
        days=_days(campaign, since, until),
        confirmed_before=before,
        hours=_last_hours(campaign, now),
        sources=_top(campaign, SignatureTally.Dimension.SOURCE, since, until),
        districts=_top(campaign, SignatureTally.Dimension.DISTRICT, since, until),
        officials=officials,
        personal=personal,
        refresh=TallyRefresh.objects.filter(campaign=campaign).first(),
    )

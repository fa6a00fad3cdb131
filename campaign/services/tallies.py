"""Rebuild a campaign's dashboard tallies (campaign/models/tallies.py).

Why rebuild, not count on each event: a signature's day does not change but its
status does (days later), and so do its letters' statuses; counting at signing or
sending would add writes to those hot paths (the sign POST must stay as it is).
A rebuild is one pass over the campaign's signatures and one over its letters,
aggregated in PostgreSQL (GROUP BY GROUPING SETS), in one transaction: readers see
the old tallies or the new ones, never half of each. On a 1,000,000-signature
campaign it takes a few seconds of the worker's time (README "Performance").
"""

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateField, DateTimeField, F, FloatField, Func, Value
from django.utils import timezone

from campaign.models import (
    Campaign,
    Letter,
    LetterTally,
    Signature,
    SignatureTally,
    TallyRefresh,
)
from campaign.postcodes import postcode_district_sql
from campaign.sources import source_label_sql


def _local_day(field: str) -> Func:
    """(field AT TIME ZONE site zone)::date: the day as the site's clocks say."""
    local = Func(
        Value(settings.TIME_ZONE),
        F(field),
        function="timezone",
        output_field=DateTimeField(),
    )
    return Func(local, function="date", output_field=DateField())


# The first key of this module's advisory locks (the second is the campaign id).
_LOCK = 170_017

_SIGNATURES_SQL = """
INSERT INTO {tally} (campaign_id, day, dimension, value, signed, confirmed,
                     confirm_seconds_median)
SELECT %s, day,
       CASE WHEN GROUPING(source) = 0 THEN 'source'
            WHEN GROUPING(district) = 0 THEN 'district' ELSE 'total' END,
       COALESCE(source, district, ''),
       count(*),
       count(*) FILTER (WHERE status = 'confirmed'),
       CASE WHEN GROUPING(source) = 1 AND GROUPING(district) = 1
            THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY delay) END
FROM ({rows}) AS s
GROUP BY GROUPING SETS ((day), (day, source), (day, district))
"""

_LETTERS_SQL = """
INSERT INTO {tally} (campaign_id, day, official_id, status, personal, letters)
SELECT %s, day, official_id, status, own_words >= %s, count(*)
FROM ({rows}) AS l
GROUP BY day, official_id, status, own_words >= %s
"""


def _signature_rows_sql(campaign_id: int) -> tuple[str, tuple]:
    rows = (
        Signature.objects.filter(campaign_id=campaign_id)
        .order_by()
        .annotate(
            day=_local_day("created_at"),
            source=source_label_sql(),
            district=postcode_district_sql("postcode"),
            delay=Func(
                Value("epoch"),
                F("confirmed_at") - F("created_at"),
                function="date_part",
                output_field=FloatField(),
            ),
        )
        .values("day", "status", "source", "district", "delay")
    )
    return rows.query.sql_with_params()


def _letter_rows_sql(campaign_id: int) -> tuple[str, tuple]:
    rows = (
        Letter.objects.filter(signature__campaign_id=campaign_id)
        .order_by()
        .annotate(day=_local_day("created_at"))
        .values("day", "official_id", "status", "own_words")
    )
    return rows.query.sql_with_params()


def campaign_tallies_refresh(*, campaign_id: int) -> TallyRefresh:
    """Rebuild one campaign's tallies from its signatures and letters."""
    started = time.monotonic()
    now = timezone.now()
    min_words = settings.PERSONAL_LETTER_MIN_WORDS
    signatures_sql, signatures_params = _signature_rows_sql(campaign_id)
    letters_sql, letters_params = _letter_rows_sql(campaign_id)
    with transaction.atomic(), connection.cursor() as cursor:
        # Rebuilds of one campaign wait for each other instead of interleaving
        # (two DELETE-then-INSERTs at once would leave both sets of rows). An
        # advisory lock, not the campaign row's: FOR UPDATE on it would hold up
        # every signature insert's foreign-key check for the whole rebuild.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK, campaign_id])
        # PostgreSQL's JIT spent ~1.8 of the 4.7 s of the signatures' pass on a
        # million rows compiling it (EXPLAIN ANALYZE, bench/dashboard.py).
        cursor.execute("SET LOCAL jit = off")
        SignatureTally.objects.filter(campaign_id=campaign_id).delete()
        LetterTally.objects.filter(campaign_id=campaign_id).delete()
        cursor.execute(
            _SIGNATURES_SQL.format(
                tally=SignatureTally._meta.db_table, rows=signatures_sql
            ),
            (campaign_id, *signatures_params),
        )
        cursor.execute(
            _LETTERS_SQL.format(tally=LetterTally._meta.db_table, rows=letters_sql),
            (campaign_id, min_words, *letters_params, min_words),
        )
        # Fresh statistics for the planner: with the old ones (say, from before
        # the rows existed) it sorted a million-signature campaign's districts on
        # disk where a hash aggregate takes a third of the time.
        cursor.execute(
            f"ANALYZE {SignatureTally._meta.db_table}, {LetterTally._meta.db_table}"
        )
        refresh, _ = TallyRefresh.objects.update_or_create(
            campaign_id=campaign_id,
            defaults={"refreshed_at": now, "seconds": time.monotonic() - started},
        )
    return refresh


def campaigns_due_for_tallies() -> list[int]:
    """The campaigns beat keeps current: those still taking signatures or
    delivering letters (not draft, and not closed for over a week: its letters
    have settled by then)."""
    week_ago = timezone.now() - timedelta(days=7)
    return list(
        Campaign.objects.exclude(status=Campaign.Status.DRAFT)
        .exclude(closes_at__lt=week_ago)
        .exclude(status=Campaign.Status.CLOSED, updated_at__lt=week_ago)
        .values_list("pk", flat=True)
    )


def tallies_refresh_enqueue_due() -> list[int]:
    """Beat: one rebuild task per due campaign, so that a big campaign neither
    holds up the others nor runs them all into one task's time limit. A task
    still queued when the next round is due is dropped (expires)."""
    from campaign.tasks import campaign_tallies_refresh_task

    campaign_ids = campaigns_due_for_tallies()
    for campaign_id in campaign_ids:
        campaign_tallies_refresh_task.apply_async(
            args=[campaign_id], expires=settings.DASHBOARD_REFRESH_SECONDS
        )
    return campaign_ids
